// ESM entry point of `polyauth/next/config`: loads no native addon.
import cjs from './dist/next/config.js'

export const { withPolyauth } = cjs
export default withPolyauth
