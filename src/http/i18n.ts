/** Page languages, in the order a missing translation falls back. */
export const LOCALES = ['fi', 'sv', 'en'] as const;
export type Locale = (typeof LOCALES)[number];

const STRINGS = {
  'chooser.title': { fi: 'Valitse koulusi', sv: 'Välj din skola', en: 'Choose your school' },
  'chooser.intro': {
    fi: 'Palveluun kirjaudutaan oman koulusi käyttäjätunnuksella.',
    sv: 'Du loggar in i tjänsten med din egen skolas användarkonto.',
    en: 'Sign in to the service with your own school account.',
  },
  'chooser.client': { fi: 'Palvelu', sv: 'Tjänst', en: 'Service' },
  'chooser.cancel': { fi: 'Peruuta kirjautuminen', sv: 'Avbryt inloggningen', en: 'Cancel sign-in' },
  'chooser.none': {
    fi: 'Yhtään käyttäjähakemistoa ei ole käytettävissä.',
    sv: 'Inga användarkataloger är tillgängliga.',
    en: 'No user directories are available.',
  },
  'chooser.search': { fi: 'Etsi koulusi', sv: 'Sök din skola', en: 'Find your school' },
  'chooser.searchHint': { fi: 'Koulun nimi tai oppilaitostunnus', sv: 'Skolans namn eller läroanstaltskod', en: 'School name or school code' },
  'chooser.searchButton': { fi: 'Hae', sv: 'Sök', en: 'Search' },
  'chooser.results': { fi: 'Hakutulokset', sv: 'Sökresultat', en: 'Search results' },
  'chooser.noResults': { fi: 'Hakuehdolla ei löytynyt kouluja.', sv: 'Inga skolor hittades.', en: 'No schools found.' },
  'chooser.truncated': { fi: 'Näytetään 50 ensimmäistä. Tarkenna hakua.', sv: 'De 50 första visas. Förfina sökningen.', en: 'Showing the first 50. Refine the search.' },
  'chooser.found': { fi: 'koulua löytyi', sv: 'skolor hittades', en: 'schools found' },
  'chooser.last': { fi: 'Viimeksi käyttämäsi', sv: 'Senast använd', en: 'Last used' },
  'chooser.schools': { fi: 'koulua', sv: 'skolor', en: 'schools' },
  'chooser.otherProvider': { fi: 'Muut', sv: 'Övriga', en: 'Others' },
  'chooser.unavailable': { fi: 'ei juuri nyt käytettävissä', sv: 'inte tillgänglig just nu', en: 'currently unavailable' },
  'error.title': { fi: 'Kirjautuminen ei onnistunut', sv: 'Inloggningen misslyckades', en: 'Sign-in failed' },
  'error.back': {
    fi: 'Palaa palveluun ja yritä uudelleen.',
    sv: 'Gå tillbaka till tjänsten och försök igen.',
    en: 'Go back to the service and try again.',
  },
  'error.continue': { fi: 'Palaa palveluun', sv: 'Tillbaka till tjänsten', en: 'Return to the service' },
  'error.reference': { fi: 'Tunniste', sv: 'Referens', en: 'Reference' },
  'error.upstream_denied': {
    fi: 'Koulusi käyttäjähakemisto ei hyväksynyt kirjautumista.',
    sv: 'Din skolas användarkatalog godkände inte inloggningen.',
    en: 'Your school directory did not accept the sign-in.',
  },
  'error.upstream_unavailable': {
    fi: 'Koulusi käyttäjähakemistoon ei juuri nyt saada yhteyttä.',
    sv: 'Din skolas användarkatalog kan inte nås just nu.',
    en: 'Your school directory cannot be reached right now.',
  },
  'error.upstream_timeout': {
    fi: 'Koulusi käyttäjähakemisto ei vastannut ajoissa.',
    sv: 'Din skolas användarkatalog svarade inte i tid.',
    en: 'Your school directory did not answer in time.',
  },
  'error.upstream_invalid_response': {
    fi: 'Koulusi käyttäjähakemiston vastaus ei ollut kelvollinen, joten kirjautumista ei voitu hyväksyä.',
    sv: 'Svaret från din skolas användarkatalog var ogiltigt, så inloggningen kunde inte godkännas.',
    en: 'The answer from your school directory was not valid, so the sign-in could not be accepted.',
  },
  'error.upstream_transaction_invalid': {
    fi: 'Kirjautuminen vanhentui tai se aloitettiin toisessa selaimessa. Aloita kirjautuminen uudelleen palvelusta.',
    sv: 'Inloggningen har gått ut eller påbörjades i en annan webbläsare. Börja om från tjänsten.',
    en: 'The sign-in expired or was started in another browser. Start again from the service.',
  },
  'error.attributes_blocked': {
    fi: 'Koulusi käyttäjähakemisto ei välittänyt kirjautumiseen vaadittavia tietoja, joten kirjautuminen estettiin. Puuttuva tai virheellinen tieto:',
    sv: 'Din skolas användarkatalog lämnade inte de uppgifter som krävs för inloggning, så inloggningen förhindrades. Uppgift som saknas eller är felaktig:',
    en: 'Your school directory did not provide the information required to sign in, so the sign-in was blocked. Missing or invalid information:',
  },
  'blocked.username_missing': { fi: 'käyttäjän yksilöintitunnus', sv: 'användarens unika identifierare', en: "the user's unique identifier" },
  'blocked.learner_id_missing': { fi: 'oppijanumero', sv: 'elevnummer', en: 'the national learner number' },
  'blocked.learner_id_invalid': {
    fi: 'kelvollinen oppijanumero',
    sv: 'ett giltigt elevnummer',
    en: 'a valid national learner number',
  },
  'error.service_not_allowed': {
    fi: 'Koulusi ei ole sallinut tämän palvelun käyttöä.',
    sv: 'Din skola har inte tillåtit den här tjänsten.',
    en: 'Your school has not allowed this service.',
  },
  'error.directory_not_in_use': {
    fi: 'Koulusi käyttäjähakemisto ei ole tällä hetkellä käytössä tässä palvelussa.',
    sv: 'Din skolas användarkatalog används för närvarande inte här.',
    en: "Your school's user directory is not in use here at the moment.",
  },
  'check.title': { fi: 'Käyttäjähakemiston attribuuttitarkistus', sv: 'Attributkontroll av användarkatalogen', en: 'User directory attribute check' },
  'check.intro': {
    fi: 'Kirjaudu hakemiston testitunnuksella. Näet, mitä hakemisto luovuttaa ja mitkä MPASSid-tiedot siitä muodostuvat. Mitään ei luovuteta millekään palvelulle.',
    sv: 'Logga in med ett testkonto i katalogen. Du ser vad katalogen lämnar ut och vilka MPASSid-uppgifter som bildas. Ingenting lämnas ut till någon tjänst.',
    en: 'Sign in with a test account of the directory. You will see what the directory sends and which MPASSid claims result. Nothing is released to any service.',
  },
  'check.directory': { fi: 'Hakemisto', sv: 'Katalog', en: 'Directory' },
  'check.state': { fi: 'Tila', sv: 'Status', en: 'State' },
  'check.signin': { fi: 'Kirjaudu testitunnuksella', sv: 'Logga in med ett testkonto', en: 'Sign in with a test account' },
  'check.again': { fi: 'Tarkista toinen tunnus', sv: 'Kontrollera ett annat konto', en: 'Check another account' },
  'check.invalidLink': {
    fi: 'Tarkistuslinkki on vanhentunut tai virheellinen. Pyydä ylläpidolta uusi linkki.',
    sv: 'Kontrollänken har gått ut eller är ogiltig. Be operatören om en ny länk.',
    en: 'The check link has expired or is not valid. Ask the operator for a new link.',
  },
  'check.notCheckable': {
    fi: 'Hakemistoa ei voi tarkistaa sen nykyisessä tilassa.',
    sv: 'Katalogen kan inte kontrolleras i sitt nuvarande tillstånd.',
    en: 'The directory cannot be checked in its current state.',
  },
  'check.outcome': { fi: 'Tulos', sv: 'Resultat', en: 'Outcome' },
  'check.outcome.released': {
    fi: 'Kirjautuminen onnistuisi: palvelu saisi alla merkityt tiedot.',
    sv: 'Inloggningen skulle lyckas: tjänsten skulle få uppgifterna som markerats nedan.',
    en: 'The login would succeed: a service would receive the claims marked OK below.',
  },
  'check.outcome.blocked': {
    fi: 'Kirjautuminen estyisi: pakollinen tieto puuttuu tai on virheellinen.',
    sv: 'Inloggningen skulle stoppas: en obligatorisk uppgift saknas eller är ogiltig.',
    en: 'The login would be blocked: a mandatory attribute is missing or invalid.',
  },
  'check.outcome.failed': {
    fi: 'Kirjautuminen hakemistoon epäonnistui.',
    sv: 'Inloggningen i katalogen misslyckades.',
    en: 'The sign-in at the directory failed.',
  },
  'check.attributes': { fi: 'Hakemiston luovuttamat attribuutit', sv: 'Attribut som katalogen lämnar ut', en: 'Attributes the directory sent' },
  'check.attribute': { fi: 'Attribuutti', sv: 'Attribut', en: 'Attribute' },
  'check.sourceClaims': { fi: 'Hakemiston nimi', sv: 'Namn i katalogen', en: 'Name at the directory' },
  'check.values': { fi: 'Arvot', sv: 'Värden', en: 'Values' },
  'check.status': { fi: 'Tila', sv: 'Status', en: 'Status' },
  'check.claims': { fi: 'MPASSid-tiedot palvelulle', sv: 'MPASSid-uppgifter till tjänsten', en: 'MPASSid claims for services' },
  'check.claim': { fi: 'Tieto', sv: 'Uppgift', en: 'Claim' },
  'check.rule': { fi: 'Sääntö', sv: 'Regel', en: 'Rule' },
  'check.rules': { fi: 'Validointisäännöt', sv: 'Valideringsregler', en: 'Validation rules' },
  'check.recorded': {
    fi: 'Tulos on tallennettu hakemiston hyväksyntää varten (ilman arvoja).',
    sv: 'Resultatet har sparats för godkännandet av katalogen (utan värden).',
    en: 'The result has been stored for the approval of the directory (without the values).',
  },
  'check.status.ok': { fi: 'OK', sv: 'OK', en: 'OK' },
  'check.status.present': { fi: 'OK', sv: 'OK', en: 'OK' },
  'check.status.missing': { fi: 'Puuttuu', sv: 'Saknas', en: 'Missing' },
  'check.status.invalid': { fi: 'Virheellinen', sv: 'Ogiltig', en: 'Invalid' },
  'check.status.malformed': { fi: 'Virheellinen muoto', sv: 'Felaktigt format', en: 'Malformed' },
  'check.status.not-released': { fi: 'Ei luovuteta', sv: 'Lämnas inte ut', en: 'Not released' },
  'error.session_expired': {
    fi: 'Kirjautumisistunto on vanhentunut. Aloita kirjautuminen uudelleen palvelusta.',
    sv: 'Inloggningssessionen har gått ut. Börja om från tjänsten.',
    en: 'The sign-in session has expired. Start again from the service.',
  },
  'error.unknown_upstream': {
    fi: 'Valittua käyttäjähakemistoa ei löydy.',
    sv: 'Den valda användarkatalogen finns inte.',
    en: 'The chosen user directory does not exist.',
  },
  'error.store_unavailable': {
    fi: 'Palvelu on tilapäisesti poissa käytöstä. Yritä hetken kuluttua uudelleen.',
    sv: 'Tjänsten är tillfälligt otillgänglig. Försök igen om en stund.',
    en: 'The service is temporarily unavailable. Please try again in a moment.',
  },
  'error.not_found': { fi: 'Sivua ei löydy.', sv: 'Sidan finns inte.', en: 'Page not found.' },
  'error.bad_request': {
    fi: 'Pyyntö ei ollut kelvollinen.',
    sv: 'Begäran var ogiltig.',
    en: 'The request was not valid.',
  },
  'error.oidc': {
    fi: 'Palvelun kirjautumispyyntö ei ollut kelvollinen.',
    sv: 'Tjänstens inloggningsbegäran var ogiltig.',
    en: "The service's sign-in request was not valid.",
  },
  'error.server': {
    fi: 'Tapahtui odottamaton virhe.',
    sv: 'Ett oväntat fel inträffade.',
    en: 'An unexpected error occurred.',
  },
  'logout.title': { fi: 'Kirjaudu ulos', sv: 'Logga ut', en: 'Sign out' },
  'logout.question': {
    fi: 'Haluatko kirjautua ulos MPASSid-palvelusta?',
    sv: 'Vill du logga ut från MPASSid?',
    en: 'Do you want to sign out of MPASSid?',
  },
  'logout.yes': { fi: 'Kirjaudu ulos', sv: 'Logga ut', en: 'Sign out' },
  'logout.no': { fi: 'Pysy kirjautuneena', sv: 'Förbli inloggad', en: 'Stay signed in' },
  'logout.done': { fi: 'Olet kirjautunut ulos.', sv: 'Du har loggat ut.', en: 'You have signed out.' },
  'attr.title': { fi: 'Attribuuttien testipalvelu', sv: 'Testtjänst för attribut', en: 'Attribute test service' },
  'attr.intro': {
    fi: 'Kirjaudu MPASSidillä nähdäksesi, mitä tietoja palvelu saisi sinusta.',
    sv: 'Logga in med MPASSid för att se vilka uppgifter en tjänst skulle få om dig.',
    en: 'Sign in with MPASSid to see what a service would receive about you.',
  },
  'attr.signin': { fi: 'Kirjaudu MPASSidillä', sv: 'Logga in med MPASSid', en: 'Sign in with MPASSid' },
  'attr.claims': { fi: 'Vastaanotetut tiedot', sv: 'Mottagna uppgifter', en: 'Claims received' },
  'attr.claim': { fi: 'Tieto', sv: 'Uppgift', en: 'Claim' },
  'attr.value': { fi: 'Arvo', sv: 'Värde', en: 'Value' },
  'attr.source': { fi: 'Lähde', sv: 'Källa', en: 'Source' },
  'attr.status': { fi: 'Tila', sv: 'Status', en: 'Status' },
  'attr.delivered': { fi: 'Välitetty', sv: 'Levererad', en: 'Delivered' },
  'attr.notDelivered': { fi: 'Ei välitetty', sv: 'Inte levererad', en: 'Not delivered' },
  'attr.rules': { fi: 'Attribuuttien tarkistus', sv: 'Kontroll av attribut', en: 'Attribute checks' },
  'attr.rule': { fi: 'Sääntö', sv: 'Regel', en: 'Rule' },
  'attr.outcome': { fi: 'Tulos', sv: 'Resultat', en: 'Outcome' },
  'attr.effect': { fi: 'Vaikutus', sv: 'Effekt', en: 'Effect' },
  'attr.again': { fi: 'Kirjaudu uudelleen', sv: 'Logga in igen', en: 'Sign in again' },
  'attr.failed': {
    fi: 'Kirjautuminen ei onnistunut',
    sv: 'Inloggningen misslyckades',
    en: 'Sign-in did not succeed',
  },
} as const satisfies Record<string, Record<Locale, string>>;

export type MessageKey = keyof typeof STRINGS;

export function isMessageKey(key: string): key is MessageKey {
  return Object.hasOwn(STRINGS, key);
}

export function t(locale: Locale, key: MessageKey): string {
  return STRINGS[key][locale];
}

export function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (LOCALES as readonly string[]).includes(value);
}

/**
 * Picks the page language: an explicit choice (ui_locales / lang), then the browser's
 * Accept-Language, then Finnish.
 */
export function pickLocale(explicit: string | undefined, acceptLanguage: string | undefined): Locale {
  for (const candidate of (explicit ?? '').split(/\s+/)) {
    const base = candidate.toLowerCase().split('-')[0];
    if (isLocale(base)) return base;
  }
  for (const part of (acceptLanguage ?? '').split(',')) {
    const base = part.trim().split(';')[0]?.toLowerCase().split('-')[0];
    if (isLocale(base)) return base;
  }
  return 'fi';
}

export function localized(text: { fi: string; sv?: string | undefined; en?: string | undefined }, locale: Locale): string {
  return text[locale] ?? text.fi;
}
