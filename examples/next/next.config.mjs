import { withPolyauth } from 'polyauth/next/config'

// withPolyauth adds 'polyauth' to serverExternalPackages: it loads a native addon, so Next.js must
// require it at run time, not bundle it. trustedOrigins: the same list as createAuth's csrf option.
export default withPolyauth(
  {
    // The tests build this app several ways side by side (tests-node/next-builds.test.mjs):
    // each build in its own directory, one of them as a standalone server.
    ...(process.env.NEXT_DIST_DIR ? { distDir: process.env.NEXT_DIST_DIR } : {}),
    ...(process.env.NEXT_OUTPUT === 'standalone' ? { output: 'standalone' } : {}),
  },
  { trustedOrigins: ['https://app.example.com'] },
)
