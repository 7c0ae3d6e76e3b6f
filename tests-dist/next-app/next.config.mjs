// What a user writes: withPolyauth alone keeps the native addon out of the bundles.
import { withPolyauth } from 'polyauth/next/config'

export default withPolyauth({})
