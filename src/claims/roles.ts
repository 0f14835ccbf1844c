import { DEFAULT_ROLES, type Role } from '../config/roles.js';

const normalise = (value: string): string => value.normalize('NFC').trim().toLocaleLowerCase('fi');

export class RoleVocabulary {
  private readonly byInput = new Map<string, Role>();

  constructor(roles: Role[] = DEFAULT_ROLES) {
    for (const role of roles) for (const input of role.inputs) this.byInput.set(normalise(input), role);
  }

  resolve(value: string): Role | undefined {
    return this.byInput.get(normalise(value));
  }
}
