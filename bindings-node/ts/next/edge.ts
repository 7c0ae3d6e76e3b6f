/**
 * What `polyauth/next` resolves to under the `edge-light` condition (Edge runtime, Edge
 * middleware): polyauth's core is a native Node.js addon, so importing it there fails clearly.
 */
throw new Error(
  'polyauth/next needs the Node.js runtime: it loads a native addon. Use it from route handlers, Server Components, Server Actions and proxy.ts (Node runtime), not from the Edge runtime.',
)
export {}
