import { withPolyauth } from 'polyauth/next/config'

// withPolyauth adds 'polyauth' to serverExternalPackages: it loads a native addon, so Next.js must
// require it at run time, not bundle it. trustedOrigins: the same list as createAuth's csrf option.
export default withPolyauth({}, { trustedOrigins: ['https://app.example.com'] })
