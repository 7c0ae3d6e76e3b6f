// The issuer and audience every benchmark route checks (bench/node/bench_next.mjs issues for them).
export const ISSUER = 'https://auth.example.com'
export const AUDIENCE = 'api'
