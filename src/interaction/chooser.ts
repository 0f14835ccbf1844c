import type { Context } from 'koa';
import { localized, type Locale } from '../http/i18n.js';
import type { DirectoryListing } from '../directories/connectors/types.js';

/**
 * The school chooser's content: directories grouped by education provider, each with its schools,
 * the device's last choice on top, and (for a search without scripts) the schools matching a query.
 * Scripts only filter what this already lists; everything works without them.
 */

export const LAST_CHOICE_COOKIE = 'mpass_last_directory';
const LAST_CHOICE_DAYS = 365;
const MAX_RESULTS = 50;
const OTHER_PROVIDER = '\uffff';

export interface ChooserInput {
  directories: Array<{ listing: DirectoryListing; unavailable: boolean }>;
  locale: Locale;
  loginHref: (directoryId: string) => string;
  query?: string | undefined;
  lastChoice?: string | undefined;
}

interface ChooserSchool {
  id: string;
  name: string;
  /** Every name and code it can be found by, lower-cased and without accents (for the filter). */
  search: string;
}

interface ChooserDirectory {
  id: string;
  name: string;
  /** Its names and its education provider's, in every language, normalized (for the filter). */
  search: string;
  href: string;
  logoUri?: string;
  unavailable: boolean;
  schools: ChooserSchool[];
}

interface ChooserGroup {
  provider: string | undefined;
  directories: ChooserDirectory[];
}

/** A directory found by its or its education provider's name, or a school found by name or code. */
interface ChooserResult {
  school: ChooserSchool | undefined;
  directory: ChooserDirectory;
  provider: string | undefined;
}

export interface ChooserModel {
  groups: ChooserGroup[];
  directoryCount: number;
  schoolCount: number;
  last: ChooserDirectory | undefined;
  query: string | undefined;
  results: ChooserResult[] | undefined;
  resultsTruncated: boolean;
}

/** Lower case without diacritics, so "aland" finds "Åland" and "koulu" finds "KOULU". */
function normalizeForSearch(text: string): string {
  return text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();
}

const namesOf = (text: { fi: string; sv?: string | undefined; en?: string | undefined } | undefined): string[] =>
  text ? [text.fi, text.sv, text.en].filter((n): n is string => Boolean(n)) : [];

function schoolOf(school: DirectoryListing['schools'][number], locale: Locale): ChooserSchool {
  const names = namesOf(school.name);
  const name = school.name ? localized(school.name, locale) : school.id;
  return { id: school.id, name, search: normalizeForSearch([...names, school.id].join(' ')) };
}

export function chooserModel(input: ChooserInput): ChooserModel {
  const { locale } = input;
  const groups = new Map<string, ChooserGroup>();
  let schoolCount = 0;
  const all: Array<{ directory: ChooserDirectory; provider: string | undefined }> = [];
  for (const { listing, unavailable } of input.directories) {
    const provider = listing.provider ? localized(listing.provider.name, locale) : undefined;
    const schools = listing.schools.map((s) => schoolOf(s, locale)).sort((a, b) => a.name.localeCompare(b.name, locale));
    schoolCount += schools.length;
    const directory: ChooserDirectory = {
      id: listing.id,
      name: localized(listing.displayName, locale),
      href: input.loginHref(listing.id),
      search: normalizeForSearch([...namesOf(listing.displayName), ...namesOf(listing.provider?.name)].join(' ')),
      unavailable,
      schools,
      ...(listing.logoUri ? { logoUri: listing.logoUri } : {}),
    };
    all.push({ directory, provider });
    const key = provider ?? OTHER_PROVIDER;
    const group = groups.get(key) ?? { provider, directories: [] };
    group.directories.push(directory);
    groups.set(key, group);
  }
  const sorted = [...groups.entries()]
    .sort(([a], [b]) => (a === OTHER_PROVIDER ? 1 : b === OTHER_PROVIDER ? -1 : a.localeCompare(b, locale)))
    .map(([, group]) => ({ ...group, directories: group.directories.sort((a, b) => a.name.localeCompare(b.name, locale)) }));

  const query = input.query?.trim().slice(0, 100) || undefined;
  let results: ChooserResult[] | undefined;
  let resultsTruncated = false;
  if (query) {
    const needle = normalizeForSearch(query);
    // The same matching as the instant search (views/static/chooser.js): directories (by their
    // or their provider's name) first, then schools (by name or code).
    const matches: ChooserResult[] = [];
    for (const { directory, provider } of all) {
      if (directory.search.includes(needle)) matches.push({ school: undefined, directory, provider });
    }
    for (const { directory, provider } of all) {
      for (const school of directory.schools) {
        if (school.search.includes(needle)) matches.push({ school, directory, provider });
      }
    }
    resultsTruncated = matches.length > MAX_RESULTS;
    results = matches.slice(0, MAX_RESULTS);
  }
  const last = input.lastChoice ? all.find((d) => d.directory.id === input.lastChoice)?.directory : undefined;
  return { groups: sorted, directoryCount: all.length, schoolCount, last, query, results, resultsTruncated };
}

/** Remembers the chosen directory on this device: its id only, nothing about the user. */
export function rememberChoice(ctx: Context, directoryId: string, options: { path: string; secure: boolean }): void {
  ctx.cookies.set(LAST_CHOICE_COOKIE, directoryId, {
    path: options.path,
    httpOnly: true,
    sameSite: 'lax',
    secure: options.secure,
    maxAge: LAST_CHOICE_DAYS * 24 * 3600 * 1000,
    overwrite: true,
  });
}
