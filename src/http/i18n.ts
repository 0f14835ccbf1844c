/** Page languages, in the order a missing translation falls back. */
export const LOCALES = ['fi', 'sv', 'en'] as const;
export type Locale = (typeof LOCALES)[number];

/**
 * Every text a person sees on the bridge's pages (and the bundled test school's), in Finnish,
 * Swedish and English. Written for a pupil as much as for a teacher: short sentences, plain words,
 * and a next step wherever something went wrong. `{name}` marks a value filled in by `t`.
 * Keys ending in `.one` / `.other` are the plural forms `tn` picks with Intl.PluralRules.
 */
const STRINGS = {
  'language.nav': { fi: 'Kieli', sv: 'Språk', en: 'Language' },

  'chooser.title': { fi: 'Valitse koulusi', sv: 'Välj din skola', en: 'Choose your school' },
  'chooser.intro': {
    fi: 'Kirjaudu palveluun oman koulusi tunnuksilla.',
    sv: 'Logga in i tjänsten med ditt konto från skolan.',
    en: 'Sign in to the service with your school account.',
  },
  'chooser.client': { fi: 'Palvelu', sv: 'Tjänst', en: 'Service' },
  'chooser.cancel': { fi: 'Peruuta kirjautuminen', sv: 'Avbryt inloggningen', en: 'Cancel sign-in' },
  'chooser.none': {
    fi: 'Yhtään koulua ei voi valita juuri nyt.',
    sv: 'Det går inte att välja någon skola just nu.',
    en: 'No school can be chosen right now.',
  },
  'chooser.search': { fi: 'Etsi koulusi', sv: 'Sök din skola', en: 'Find your school' },
  'chooser.searchHint': {
    fi: 'Koulun tai kunnan nimi tai koulun koodi',
    sv: 'Skolans eller kommunens namn eller skolans kod',
    en: 'Name of the school or municipality, or the school code',
  },
  'chooser.searchButton': { fi: 'Hae', sv: 'Sök', en: 'Search' },
  'chooser.results': { fi: 'Hakutulokset', sv: 'Sökresultat', en: 'Search results' },
  'chooser.noResults': {
    fi: 'Haulla ei löytynyt mitään. Kokeile toista nimeä.',
    sv: 'Sökningen gav inga träffar. Prova ett annat namn.',
    en: 'Nothing found. Try another name.',
  },
  'chooser.truncated': {
    fi: 'Näytetään 50 ensimmäistä. Tarkenna hakua.',
    sv: 'De 50 första visas. Skriv mer för att begränsa sökningen.',
    en: 'Showing the first 50. Type more to narrow the search.',
  },
  'chooser.found.one': { fi: '{n} tulos', sv: '{n} träff', en: '{n} result' },
  'chooser.found.other': { fi: '{n} tulosta', sv: '{n} träffar', en: '{n} results' },
  'chooser.schools.one': { fi: '{n} koulu', sv: '{n} skola', en: '{n} school' },
  'chooser.schools.other': { fi: '{n} koulua', sv: '{n} skolor', en: '{n} schools' },
  'chooser.last': { fi: 'Viimeksi valitsemasi', sv: 'Ditt senaste val', en: 'Your last choice' },
  'chooser.otherProvider': { fi: 'Muut', sv: 'Övriga', en: 'Others' },
  'chooser.unavailable': { fi: 'ei juuri nyt käytettävissä', sv: 'inte tillgänglig just nu', en: 'not available right now' },

  'error.title': { fi: 'Kirjautuminen ei onnistunut', sv: 'Inloggningen misslyckades', en: 'Sign-in failed' },
  'error.title.cancelled': { fi: 'Kirjautuminen peruttiin', sv: 'Inloggningen avbröts', en: 'Sign-in cancelled' },
  'error.title.notFound': { fi: 'Sivua ei löytynyt', sv: 'Sidan hittades inte', en: 'Page not found' },
  'error.title.unavailable': { fi: 'Palvelu ei ole käytettävissä', sv: 'Tjänsten är inte tillgänglig', en: 'Service unavailable' },
  'error.title.server': { fi: 'Jokin meni vikaan', sv: 'Något gick fel', en: 'Something went wrong' },
  'error.title.request': { fi: 'Sivua ei voitu näyttää', sv: 'Sidan kunde inte visas', en: 'The page could not be shown' },
  'error.title.checkLink': { fi: 'Tarkistuslinkki ei toimi', sv: 'Kontrollänken fungerar inte', en: 'The check link does not work' },
  'error.back': {
    fi: 'Palaa palveluun ja yritä uudelleen.',
    sv: 'Gå tillbaka till tjänsten och försök igen.',
    en: 'Go back to the service and try again.',
  },
  'error.continue': { fi: 'Palaa palveluun', sv: 'Tillbaka till tjänsten', en: 'Return to the service' },
  'error.reference': { fi: 'Tunniste', sv: 'Referens', en: 'Reference' },
  'error.directory_denied': {
    fi: 'Kirjautuminen peruttiin koulusi kirjautumissivulla.',
    sv: 'Inloggningen avbröts på skolans inloggningssida.',
    en: "The sign-in was cancelled on your school's sign-in page.",
  },
  'error.directory_unavailable': {
    fi: 'Koulusi kirjautumispalveluun ei saada nyt yhteyttä. Yritä hetken päästä uudelleen.',
    sv: 'Skolans inloggningstjänst kan inte nås just nu. Försök igen om en stund.',
    en: "Your school's sign-in service cannot be reached right now. Try again in a moment.",
  },
  'error.directory_timeout': {
    fi: 'Koulusi kirjautumispalvelu ei vastannut ajoissa. Yritä hetken päästä uudelleen.',
    sv: 'Skolans inloggningstjänst svarade inte i tid. Försök igen om en stund.',
    en: "Your school's sign-in service did not answer in time. Try again in a moment.",
  },
  'error.directory_invalid_response': {
    fi: 'Koulusi kirjautumispalvelu lähetti virheellisen vastauksen, joten kirjautuminen ei onnistunut.',
    sv: 'Skolans inloggningstjänst skickade ett felaktigt svar, så inloggningen misslyckades.',
    en: "The answer from your school's sign-in service was not valid, so the sign-in did not work.",
  },
  'error.directory_transaction_invalid': {
    fi: 'Kirjautuminen vanheni tai se aloitettiin toisessa selaimessa. Aloita alusta palvelussa.',
    sv: 'Inloggningen gick ut eller började i en annan webbläsare. Börja om i tjänsten.',
    en: 'The sign-in expired or was started in another browser. Start again from the service.',
  },
  'error.attributes_blocked': {
    fi: 'Koulusi ei lähettänyt kaikkia tietoja, joita kirjautumiseen tarvitaan. Tämä tieto puuttuu tai on väärin:',
    sv: 'Skolan skickade inte alla uppgifter som behövs för att logga in. Den här uppgiften saknas eller är fel:',
    en: 'Your school did not send all the information needed to sign in. This information is missing or wrong:',
  },
  'error.attributes_blocked.next': {
    fi: 'Kerro tästä opettajallesi tai sille, joka hoitaa koulusi käyttäjätunnuksia. Tiedot korjataan palvelussa {directory}. Kerro heille myös alla oleva tunniste.',
    sv: 'Berätta om det här för din lärare eller för den som sköter skolans användarkonton. Uppgifterna rättas i {directory}. Ge dem också referensen nedan.',
    en: "Tell your teacher or the person who looks after your school's user accounts. The information is corrected in {directory}. Give them the reference below too.",
  },
  'blocked.username_missing': { fi: 'käyttäjän yksilöivä tunnus', sv: 'användarens unika identifierare', en: "the user's unique identifier" },
  'blocked.learner_id_missing': { fi: 'oppijanumero', sv: 'elevnummer', en: 'the national learner number' },
  'blocked.learner_id_invalid': { fi: 'oikea oppijanumero', sv: 'ett giltigt elevnummer', en: 'a valid national learner number' },
  'error.service_not_allowed': {
    fi: 'Koulusi ei ole sallinut tämän palvelun käyttöä.',
    sv: 'Din skola har inte tillåtit den här tjänsten.',
    en: 'Your school has not allowed this service.',
  },
  'error.directory_not_in_use': {
    fi: 'Koulusi kirjautumispalvelu ei ole nyt käytössä täällä.',
    sv: 'Skolans inloggningstjänst används inte här just nu.',
    en: "Your school's sign-in service is not in use here right now.",
  },
  'error.session_expired': {
    fi: 'Kirjautuminen vanheni. Aloita alusta palvelussa.',
    sv: 'Inloggningen gick ut. Börja om i tjänsten.',
    en: 'The sign-in session has expired. Start again from the service.',
  },
  'error.unknown_directory': {
    fi: 'Valitsemaasi koulua ei löydy.',
    sv: 'Skolan du valde finns inte.',
    en: 'The school you chose does not exist.',
  },
  'error.store_unavailable': {
    fi: 'Palvelu ei toimi juuri nyt. Yritä hetken päästä uudelleen.',
    sv: 'Tjänsten fungerar inte just nu. Försök igen om en stund.',
    en: 'The service is temporarily unavailable. Try again in a moment.',
  },
  'error.not_found': {
    fi: 'Tässä osoitteessa ei ole sivua. Tarkista osoite.',
    sv: 'Det finns ingen sida på den här adressen. Kontrollera adressen.',
    en: 'There is no page at this address. Check the address.',
  },
  'error.bad_request': { fi: 'Pyyntö ei kelvannut.', sv: 'Begäran godkändes inte.', en: 'The request was not valid.' },
  'error.oidc': {
    fi: 'Palvelu lähetti virheellisen kirjautumispyynnön. Kerro tästä palvelun tuelle.',
    sv: 'Tjänsten skickade en felaktig inloggningsbegäran. Berätta det för tjänstens support.',
    en: "The service's sign-in request was not valid. Tell the service's support.",
  },
  'error.server': {
    fi: 'Tapahtui odottamaton virhe. Yritä hetken päästä uudelleen.',
    sv: 'Ett oväntat fel inträffade. Försök igen om en stund.',
    en: 'An unexpected error occurred. Try again in a moment.',
  },

  'check.title': { fi: 'Käyttäjähakemiston tarkistus', sv: 'Kontroll av användarkatalogen', en: 'User directory check' },
  'check.intro': {
    fi: 'Kirjaudu hakemiston testitunnuksella. Näet, mitä hakemisto lähettää ja mitkä MPASSid-tiedot siitä syntyvät. Mitään ei lähetetä millekään palvelulle.',
    sv: 'Logga in med ett testkonto i katalogen. Du ser vad katalogen skickar och vilka MPASSid-uppgifter det blir. Ingenting skickas till någon tjänst.',
    en: 'Sign in with a test account of the directory. You will see what the directory sends and which MPASSid claims result. Nothing is sent to any service.',
  },
  'check.directory': { fi: 'Hakemisto', sv: 'Katalog', en: 'Directory' },
  'check.state': { fi: 'Tila', sv: 'Status', en: 'State' },
  'check.signin': { fi: 'Kirjaudu testitunnuksella', sv: 'Logga in med ett testkonto', en: 'Sign in with a test account' },
  'check.again': { fi: 'Tarkista toinen tunnus', sv: 'Kontrollera ett annat konto', en: 'Check another account' },
  'check.invalidLink': {
    fi: 'Tarkistuslinkki on vanhentunut tai väärä. Pyydä ylläpidolta uusi linkki.',
    sv: 'Kontrollänken har gått ut eller är fel. Be operatören om en ny länk.',
    en: 'The check link has expired or is wrong. Ask the operator for a new link.',
  },
  'check.notCheckable': {
    fi: 'Hakemistoa ei voi tarkistaa sen nykyisessä tilassa.',
    sv: 'Katalogen kan inte kontrolleras i sitt nuvarande tillstånd.',
    en: 'The directory cannot be checked in its current state.',
  },
  'check.outcome': { fi: 'Tulos', sv: 'Resultat', en: 'Outcome' },
  'check.outcome.released': {
    fi: 'Kirjautuminen onnistuisi: palvelu saisi alla OK-merkityt tiedot.',
    sv: 'Inloggningen skulle lyckas: tjänsten skulle få uppgifterna som är märkta OK nedan.',
    en: 'The login would succeed: a service would receive the claims marked OK below.',
  },
  'check.outcome.blocked': {
    fi: 'Kirjautuminen estyisi: pakollinen tieto puuttuu tai on väärin:',
    sv: 'Inloggningen skulle stoppas: en obligatorisk uppgift saknas eller är fel:',
    en: 'The login would be blocked: a mandatory attribute is missing or wrong:',
  },
  'check.outcome.failed': {
    fi: 'Kirjautuminen hakemistoon ei onnistunut:',
    sv: 'Inloggningen i katalogen misslyckades:',
    en: 'The sign-in at the directory failed:',
  },
  'check.attributes': { fi: 'Hakemiston lähettämät attribuutit', sv: 'Attribut som katalogen skickar', en: 'Attributes the directory sent' },
  'check.attribute': { fi: 'Attribuutti', sv: 'Attribut', en: 'Attribute' },
  'check.sourceClaims': { fi: 'Nimi hakemistossa', sv: 'Namn i katalogen', en: 'Name at the directory' },
  'check.values': { fi: 'Arvot', sv: 'Värden', en: 'Values' },
  'check.status': { fi: 'Tila', sv: 'Status', en: 'Status' },
  'check.claims': { fi: 'MPASSid-tiedot palvelulle', sv: 'MPASSid-uppgifter till tjänsten', en: 'MPASSid claims for services' },
  'check.claim': { fi: 'Tieto', sv: 'Uppgift', en: 'Claim' },
  'check.rule': { fi: 'Sääntö', sv: 'Regel', en: 'Rule' },
  'check.rules': { fi: 'Tarkistussäännöt', sv: 'Kontrollregler', en: 'Validation rules' },
  'check.effect': { fi: 'Vaikutus', sv: 'Effekt', en: 'Effect' },
  'check.recorded': {
    fi: 'Tulos on tallennettu hakemiston hyväksyntää varten (ilman arvoja).',
    sv: 'Resultatet har sparats för godkännandet av katalogen (utan värden).',
    en: 'The result has been stored for the approval of the directory (without the values).',
  },
  'check.status.ok': { fi: 'OK', sv: 'OK', en: 'OK' },
  'check.status.present': { fi: 'OK', sv: 'OK', en: 'OK' },
  'check.status.missing': { fi: 'Puuttuu', sv: 'Saknas', en: 'Missing' },
  'check.status.invalid': { fi: 'Virheellinen', sv: 'Ogiltig', en: 'Invalid' },
  'check.status.malformed': { fi: 'Väärä muoto', sv: 'Fel format', en: 'Malformed' },
  'check.status.not-released': { fi: 'Ei lähetetä', sv: 'Skickas inte', en: 'Not released' },

  'directory.state.draft': { fi: 'luonnos', sv: 'utkast', en: 'draft' },
  'directory.state.testing': { fi: 'testauksessa', sv: 'testas', en: 'in testing' },
  'directory.state.approved': { fi: 'hyväksytty', sv: 'godkänd', en: 'approved' },
  'directory.state.suspended': { fi: 'keskeytetty', sv: 'avstängd', en: 'suspended' },

  'effect.none': { fi: 'ei vaikutusta', sv: 'ingen effekt', en: 'no effect' },
  'effect.blocked': { fi: 'kirjautuminen estetään', sv: 'inloggningen stoppas', en: 'sign-in blocked' },
  'effect.dropped': { fi: 'jätetään pois', sv: 'lämnas bort', en: 'left out' },
  'effect.delivered without': { fi: 'lähetetään ilman tätä tietoa', sv: 'skickas utan den här uppgiften', en: 'sent without it' },

  // The rows of the validation table (src/claims/validation-table.ts), in words.
  'rule.username': {
    fi: 'Pakollinen: tasan yksi arvo, ei tyhjä.',
    sv: 'Obligatorisk: exakt ett värde, inte tomt.',
    en: 'Required: exactly one value, not empty.',
  },
  'rule.learnerId': {
    fi: 'Pakollinen: 1.2.246.562.24. ja 11 numeroa (testinumerot 1.2.246.562.98. vain niille palveluille, joille ne on sallittu). Tarkistenumeroa ei tarkisteta.',
    sv: 'Obligatorisk: 1.2.246.562.24. och 11 siffror (testnummer 1.2.246.562.98. bara för tjänster som fått tillstånd). Kontrollsiffran kontrolleras inte.',
    en: 'Required: 1.2.246.562.24. and 11 digits (test numbers 1.2.246.562.98. only for services allowed them). The check digit is not verified.',
  },
  'rule.schoolIds': {
    fi: 'Annettu, ja jokainen koulu on toiminnassa valtakunnallisessa organisaatiopalvelussa.',
    sv: 'Finns, och varje skola är verksam i det nationella organisationsregistret.',
    en: 'Present, and each school active in the national organisation registry.',
  },
  'rule.alignment': {
    fi: 'Jos kouluja on N, luokkia, rooleja ja maksullisuustietoja on kutakin N, yksi tai ei yhtään.',
    sv: 'Med N skolor har klasser, roller och avgifter vardera N värden, ett värde eller inget.',
    en: 'With N schools, classes, roles and charges each have N values, one value or none.',
  },
  'rule.roles': {
    fi: 'Annettu, ja rooli löytyy roolisanastosta (isot ja pienet kirjaimet samoin, suomeksi, ruotsiksi tai englanniksi).',
    sv: 'Finns, och rollen finns i rollvokabulären (stora och små bokstäver lika, på finska, svenska eller engelska).',
    en: 'Present, and a role of the role vocabulary (any letter case, in Finnish, Swedish or English).',
  },
  'rule.groupLevels': {
    fi: 'Kokonaisluku (Tilastokeskuksen luokka-aste).',
    sv: 'Ett heltal (Statistikcentralens årskurs).',
    en: 'A whole number (Statistics Finland grade).',
  },
  'rule.learningMaterialsCharges': {
    fi: 'Tasan 0 (maksuton) tai 1 (maksullinen).',
    sv: 'Exakt 0 (avgiftsfri) eller 1 (avgiftsbelagd).',
    en: 'Exactly 0 (free) or 1 (charged).',
  },
  'rule.surname': { fi: 'Ei tarkistusta.', sv: 'Ingen kontroll.', en: 'No validation.' },
  'rule.firstName': { fi: 'Ei tarkistusta.', sv: 'Ingen kontroll.', en: 'No validation.' },
  'rule.nickname': { fi: 'Ei tarkistusta.', sv: 'Ingen kontroll.', en: 'No validation.' },
  'rule.groups': { fi: 'Ei tarkistusta.', sv: 'Ingen kontroll.', en: 'No validation.' },

  'logout.title': { fi: 'Kirjaudu ulos', sv: 'Logga ut', en: 'Sign out' },
  'logout.question': {
    fi: 'Haluatko kirjautua ulos MPASSidistä?',
    sv: 'Vill du logga ut från MPASSid?',
    en: 'Do you want to sign out of MPASSid?',
  },
  'logout.yes': { fi: 'Kirjaudu ulos', sv: 'Logga ut', en: 'Sign out' },
  'logout.no': { fi: 'Pysy kirjautuneena', sv: 'Förbli inloggad', en: 'Stay signed in' },
  'logout.done': { fi: 'Olet kirjautunut ulos.', sv: 'Du har loggat ut.', en: 'You have signed out.' },

  'attr.title': { fi: 'Attribuuttien testipalvelu', sv: 'Testtjänst för attribut', en: 'Attribute test service' },
  'attr.intro': {
    fi: 'Kirjaudu MPASSidillä, niin näet, mitä tietoja palvelu saisi sinusta.',
    sv: 'Logga in med MPASSid, så ser du vilka uppgifter en tjänst skulle få om dig.',
    en: 'Sign in with MPASSid to see what a service would receive about you.',
  },
  'attr.signin': { fi: 'Kirjaudu MPASSidillä', sv: 'Logga in med MPASSid', en: 'Sign in with MPASSid' },
  'attr.signedIn': { fi: 'Olet kirjautunut sisään.', sv: 'Du är inloggad.', en: 'You are signed in.' },
  'attr.claims': { fi: 'Saadut tiedot', sv: 'Mottagna uppgifter', en: 'Claims received' },
  'attr.claim': { fi: 'Tieto', sv: 'Uppgift', en: 'Claim' },
  'attr.value': { fi: 'Arvo', sv: 'Värde', en: 'Value' },
  'attr.status': { fi: 'Tila', sv: 'Status', en: 'Status' },
  'attr.delivered': { fi: 'Saatu', sv: 'Mottagen', en: 'Delivered' },
  'attr.notDelivered': { fi: 'Ei saatu', sv: 'Inte mottagen', en: 'Not delivered' },
  'attr.source.idToken': { fi: 'ID-token', sv: 'ID-token', en: 'ID token' },
  'attr.source.userinfo': { fi: 'userinfo-vastaus', sv: 'userinfo-svar', en: 'userinfo response' },
  'attr.rules': { fi: 'Tietojen tarkistus', sv: 'Kontroll av uppgifterna', en: 'Attribute checks' },
  'attr.rule': { fi: 'Sääntö', sv: 'Regel', en: 'Rule' },
  'attr.outcome': { fi: 'Tulos', sv: 'Resultat', en: 'Outcome' },
  'attr.effect': { fi: 'Vaikutus', sv: 'Effekt', en: 'Effect' },
  'attr.switchUser': { fi: 'Kirjaudu toisena käyttäjänä', sv: 'Logga in som en annan användare', en: 'Sign in as another user' },
  'attr.signout': { fi: 'Kirjaudu ulos', sv: 'Logga ut', en: 'Sign out' },
  'attr.signedOut': { fi: 'Olet kirjautunut ulos.', sv: 'Du har loggat ut.', en: 'You have signed out.' },
  'attr.failed': { fi: 'Kirjautuminen ei onnistunut', sv: 'Inloggningen misslyckades', en: 'Sign-in did not succeed' },
  'attr.error.access_denied': {
    fi: 'Kirjautuminen peruttiin tai sitä ei hyväksytty.',
    sv: 'Inloggningen avbröts eller godkändes inte.',
    en: 'The sign-in was cancelled or not accepted.',
  },
  'attr.error.temporarily_unavailable': {
    fi: 'Koulun kirjautumispalvelu ei ollut käytettävissä. Yritä hetken päästä uudelleen.',
    sv: 'Skolans inloggningstjänst var inte tillgänglig. Försök igen om en stund.',
    en: "The school's sign-in service was not available. Try again in a moment.",
  },
  'attr.error.invalid_state': {
    fi: 'Kirjautuminen vanheni tai se aloitettiin toisessa selaimessa. Kirjaudu uudelleen.',
    sv: 'Inloggningen gick ut eller började i en annan webbläsare. Logga in igen.',
    en: 'The sign-in expired or was started in another browser. Sign in again.',
  },
  'attr.error.other': {
    fi: 'Palvelu ei saanut kirjautumista valmiiksi.',
    sv: 'Tjänsten kunde inte slutföra inloggningen.',
    en: 'The service could not complete the sign-in.',
  },
  'attr.errorCode': { fi: 'Virhekoodi', sv: 'Felkod', en: 'Error code' },
  'attr.errorDescription': { fi: 'Selitys palvelulle', sv: 'Förklaring till tjänsten', en: 'Explanation to the service' },

  'testdir.tagline': { fi: 'testikoulun käyttäjähakemisto', sv: 'testskolans användarkatalog', en: 'test school user directory' },
  'testdir.title': { fi: 'Kirjaudu sisään', sv: 'Logga in', en: 'Sign in' },
  'testdir.notice': {
    fi: 'Tämä on testikoulu. Käyttäjät eivät ole oikeita ihmisiä.',
    sv: 'Det här är en testskola. Användarna är inte riktiga personer.',
    en: 'This is a test school. The users are not real people.',
  },
  'testdir.username': { fi: 'Käyttäjätunnus', sv: 'Användarnamn', en: 'Username' },
  'testdir.password': { fi: 'Salasana', sv: 'Lösenord', en: 'Password' },
  'testdir.login': { fi: 'Kirjaudu', sv: 'Logga in', en: 'Sign in' },
  'testdir.cancel': { fi: 'Peruuta', sv: 'Avbryt', en: 'Cancel' },
  'testdir.users': { fi: 'Testikäyttäjät', sv: 'Testanvändare', en: 'Test users' },
  'testdir.passwordHint': {
    fi: 'Salasana on käyttäjätunnus ja perään pwd. Esimerkki:',
    sv: 'Lösenordet är användarnamnet följt av pwd. Exempel:',
    en: 'The password is the username followed by pwd. Example:',
  },
  'testdir.caption': { fi: 'Jokainen käyttäjä näyttää yhden tapauksen.', sv: 'Varje användare visar ett fall.', en: 'Each user shows one case.' },
  'testdir.shows': { fi: 'Mitä näyttää', sv: 'Vad den visar', en: 'What it shows' },
  'testdir.wrong': { fi: 'Väärä käyttäjätunnus tai salasana.', sv: 'Fel användarnamn eller lösenord.', en: 'Wrong username or password.' },
  'testdir.invalidForm': {
    fi: 'Lomake ei kelvannut. Yritä uudelleen.',
    sv: 'Formuläret godkändes inte. Försök igen.',
    en: 'The form was not valid. Try again.',
  },
  'testdir.errorTitle': { fi: 'Kirjautuminen ei onnistunut', sv: 'Inloggningen misslyckades', en: 'Sign-in failed' },
  'testdir.errorText': {
    fi: 'Testikoulu ei voinut jatkaa kirjautumista. Aloita alusta palvelussa.',
    sv: 'Testskolan kunde inte fortsätta inloggningen. Börja om i tjänsten.',
    en: 'The test school could not go on with the sign-in. Start again from the service.',
  },
  'testdir.errorCode': { fi: 'Virhekoodi', sv: 'Felkod', en: 'Error code' },
} as const satisfies Record<string, Record<Locale, string>>;

export type MessageKey = keyof typeof STRINGS;
/** The keys with plural forms, without their `.one` / `.other` ending. */
export type PluralKey = { [K in MessageKey]: K extends `${infer Base}.other` ? Base : never }[MessageKey];

export function isMessageKey(key: string): key is MessageKey {
  return Object.hasOwn(STRINGS, key);
}

/** A text in a language, with `{name}` filled in from `values` (the templates escape the result). */
export function t(locale: Locale, key: MessageKey, values: Record<string, string | number> = {}): string {
  return STRINGS[key][locale].replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole));
}

const pluralRules = new Map(LOCALES.map((locale) => [locale, new Intl.PluralRules(locale)]));

/** The plural form of a text for a count ("1 koulu", "2 koulua"), chosen by the language's plural rules. */
export function tn(locale: Locale, key: PluralKey, count: number): string {
  const form = pluralRules.get(locale)!.select(count) === 'one' ? 'one' : 'other';
  return t(locale, `${key}.${form}` as MessageKey, { n: count });
}

export function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (LOCALES as readonly string[]).includes(value);
}

/** The first of our languages in a space-separated list of language tags (ui_locales, ?lang). */
export function firstLocale(tags: string | undefined): Locale | undefined {
  for (const candidate of (tags ?? '').split(/\s+/)) {
    const base = candidate.toLowerCase().split('-')[0];
    if (isLocale(base)) return base;
  }
  return undefined;
}

/**
 * The browser's most preferred language we have (RFC 9110 Accept-Language): by q-value, highest
 * first, the header's order among equals; q=0 means "not this one". `*` stands for any language,
 * which is then ours in our fallback order.
 */
export function acceptedLocale(header: string | undefined): Locale | undefined {
  const ranges = (header ?? '')
    .split(',')
    .map((part, index) => {
      const [range = '', ...params] = part.trim().split(';');
      const q = params.map((p) => p.trim().match(/^q=([0-9.]+)$/i)).find(Boolean);
      const weight = q ? Number(q[1]) : 1;
      return { tag: range.trim().toLowerCase(), weight: Number.isFinite(weight) ? Math.min(weight, 1) : 0, index };
    })
    .filter((r) => r.tag !== '' && r.weight > 0)
    .sort((a, b) => b.weight - a.weight || a.index - b.index);
  const refused = new Set(
    (header ?? '')
      .split(',')
      .filter((part) => /;\s*q=0(\.0*)?\s*$/i.test(part))
      .map((part) => part.split(';')[0]!.trim().toLowerCase().split('-')[0]),
  );
  for (const { tag } of ranges) {
    if (tag === '*') return LOCALES.find((l) => !refused.has(l));
    const base = tag.split('-')[0];
    if (isLocale(base)) return base;
  }
  return undefined;
}

/**
 * Picks the page language: an explicit choice (ui_locales / lang), then the browser's
 * Accept-Language (with its q-values), then Finnish.
 */
export function pickLocale(explicit: string | undefined, acceptLanguage: string | undefined): Locale {
  return firstLocale(explicit) ?? acceptedLocale(acceptLanguage) ?? 'fi';
}

export function localized(text: { fi: string; sv?: string | undefined; en?: string | undefined }, locale: Locale): string {
  return text[locale] ?? text.fi;
}

/** Every text in every language (for tests that look for a text of the wrong language on a page). */
export const MESSAGES: Readonly<Record<MessageKey, Readonly<Record<Locale, string>>>> = STRINGS;
