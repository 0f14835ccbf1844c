import { CLAIM } from '../../src/claims/claim-names.js';

/** pupil-complete as services receive her from every directory type (the claims each of them delivers). */
export const PUPIL_COMPLETE_CLAIMS = {
  given_name: 'Aino',
  family_name: 'Mansikka',
  [CLAIM.nickname]: 'Ainska',
  [CLAIM.learnerId]: '1.2.246.562.24.10000000001',
  [CLAIM.classLevel]: '9',
  [CLAIM.role]: ['1.2.246.562.99.00000000001;30076;9F;Oppilas;1;1.2.246.562.99.00000000002;'],
  [CLAIM.learningMaterialsCharge]: ['1;30076', '1;1.2.246.562.99.00000000002'],
  [CLAIM.schoolCode]: ['30076'],
  [CLAIM.class]: ['9F'],
};
