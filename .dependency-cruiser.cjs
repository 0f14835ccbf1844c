/**
 * Architecture rules checked in CI (npm run lint); docs/architecture.md draws the same map.
 *
 * LAYERS says, for every folder of src/, which other folders it may import. A folder missing from
 * the map may import nothing of src/. The map has no cycles, so no two folders import each other;
 * the files at the top of src/ (main, deployment, app) compose everything and may import any folder.
 */
const LAYERS = {
  config: [],
  identity: [],
  observability: [],
  storage: ['config', 'observability'],
  http: ['observability', 'storage'],
  lifecycle: ['storage'],
  organisations: ['config', 'http', 'observability', 'storage'],
  claims: ['config', 'identity', 'observability', 'organisations'],
  accounts: ['claims', 'storage'],
  services: ['claims', 'config', 'lifecycle', 'storage'],
  directories: ['claims', 'config', 'http', 'identity', 'lifecycle', 'observability', 'organisations', 'storage'],
  provider: ['accounts', 'claims', 'config', 'directories', 'http', 'observability', 'services', 'storage'],
  attributetest: ['accounts', 'claims', 'config', 'directories', 'http', 'observability', 'provider', 'storage'],
  interaction: ['accounts', 'attributetest', 'claims', 'config', 'directories', 'http', 'observability', 'provider', 'services', 'storage'],
  admin: ['claims', 'config', 'directories', 'http', 'lifecycle', 'observability', 'services', 'storage'],
  testdirectory: ['config', 'directories', 'http', 'provider', 'storage'],
};

const folderRules = Object.entries(LAYERS).map(([folder, allowed]) => ({
  name: `layers-${folder}`,
  severity: 'error',
  comment: allowed.length ? `src/${folder}/ may import only ${allowed.join(', ')} (see LAYERS)` : `src/${folder}/ is a leaf: it imports nothing of src/`,
  from: { path: `^src/${folder}/` },
  to: { path: '^src/', pathNot: `^src/(${[folder, ...allowed].join('|')})/` },
}));

module.exports = {
  forbidden: [
    ...folderRules,
    {
      name: 'every-folder-in-the-map',
      severity: 'error',
      comment: 'A new folder of src/ gets its place in LAYERS (and in docs/architecture.md)',
      from: { path: `^src/(?!(${Object.keys(LAYERS).join('|')})/)[^/]+/` },
      to: { path: '^src/' },
    },
    {
      name: 'connectors-know-no-pages',
      severity: 'error',
      comment: 'A connector speaks its protocol and returns an identity: the login flow, pages and the admin API are above it',
      from: { path: '^src/directories/connectors/' },
      to: { path: '^src/(directories/(check|handoff)|http/(pages|i18n|views))' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A module cycle makes the order of the login spine unreadable: break it with an interface or a module of its own',
      from: { path: '^src' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
