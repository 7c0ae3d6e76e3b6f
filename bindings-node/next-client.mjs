// ESM entry point of `polyauth/next/client`: browser-safe (no native addon, no Node.js built-ins).
import cjs from './dist/next/client.js'

export const { createAuthFetch } = cjs
export default createAuthFetch
