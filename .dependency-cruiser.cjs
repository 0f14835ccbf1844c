/** Architecture rules checked in CI (npm run lint:architecture); see docs/architecture.md. */
module.exports = {
  forbidden: [
    {
      name: 'identity-is-a-leaf',
      severity: 'error',
      comment: 'The neutral identity is what connectors and the claims step share: it depends on neither',
      from: { path: '^src/identity/' },
      to: { path: '^src/', pathNot: '^src/identity/' },
    },
    {
      name: 'claims-know-no-protocol',
      severity: 'error',
      comment: 'The claims step reads a neutral identity; connectors, routes and the provider are not its business',
      from: { path: '^src/claims/' },
      to: { path: '^src/(upstream|interaction|provider|admin|directories|directorycheck|attributetest|registration)/' },
    },
    {
      name: 'connectors-know-no-pages',
      severity: 'error',
      comment: 'A connector speaks its protocol and returns an identity: pages, the admin API and the provider are above it',
      from: { path: '^src/upstream/' },
      to: { path: '^src/(interaction|admin|attributetest|directorycheck|registration)/' },
    },
    {
      name: 'storage-below-everything',
      severity: 'error',
      comment: 'The stores serve every layer and depend on none of them (settings and metrics aside)',
      from: { path: '^src/storage/' },
      to: { path: '^src/', pathNot: '^src/(storage|config|observability)/' },
    },
    {
      name: 'observability-below-the-login',
      severity: 'error',
      from: { path: '^src/observability/' },
      to: { path: '^src/(interaction|provider|upstream|admin|directories|directorycheck|claims|registration|attributetest)/' },
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
