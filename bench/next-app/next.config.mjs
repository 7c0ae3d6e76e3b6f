import { withPolyauth } from 'polyauth/next/config'

// The app of the Next.js benchmark (bench/node/bench_next.mjs). withPolyauth keeps polyauth an
// external package (it loads a native addon), as in any app using polyauth/next. The app has its
// own node_modules and lock file: its directory is the root (the repository's lock file is not).
const root = import.meta.dirname

export default withPolyauth({ turbopack: { root }, outputFileTracingRoot: root })
