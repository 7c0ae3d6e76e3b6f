/** @type {import('next').NextConfig} */
const nextConfig = {
  // polyauth loads a native addon: Next.js must require it at run time, not bundle it.
  serverExternalPackages: ['polyauth'],
}

export default nextConfig
