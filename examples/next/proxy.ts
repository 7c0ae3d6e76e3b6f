// Next 16 proxy (Node.js runtime): refreshes an expired access cookie once per navigation, so the
// page's auth() already sees the new cookies; anonymous visits to protected paths go to /sign-in.
import { proxy as polyauthProxy } from '@/lib/auth'

export const proxy = polyauthProxy({ protect: ['/dashboard'] })

// polyauth's PROXY_MATCHER, copied (Next.js reads `config` statically): every page except API
// routes and static files, and never a router prefetch, so a page full of links refreshes once.
export const config = {
  matcher: [
    {
      source: '/((?!api|_next/static|_next/image|favicon.ico|sitemap.xml|robots.txt).*)',
      missing: [
        { type: 'header', key: 'next-router-prefetch' },
        { type: 'header', key: 'purpose', value: 'prefetch' },
      ],
    },
  ],
}
