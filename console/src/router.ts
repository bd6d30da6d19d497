/**
 * A hash router: `#/players/hero` and the like. The console is a handful of pages behind sign-in; the hash keeps
 * every page one static index.html, served as is by the gateway locally and by CloudFront from S3.
 */
import { useEffect, useState } from 'react';

export type Route =
  | { page: 'players'; playerId?: string }
  | { page: 'payments' }
  | { page: 'bulk-grants' }
  | { page: 'approvals' }
  | { page: 'pipeline' }
  | { page: 'leaderboards' }
  | { page: 'recovery' }
  | { page: 'audit' };

export const PAGES: readonly { page: Route['page']; title: string }[] = [
  { page: 'players', title: 'Players' },
  { page: 'payments', title: 'Payments' },
  { page: 'bulk-grants', title: 'Bulk grants' },
  { page: 'approvals', title: 'Approvals' },
  { page: 'pipeline', title: 'Pipeline health' },
  { page: 'leaderboards', title: 'Leaderboards' },
  { page: 'recovery', title: 'Consistency and recovery' },
  { page: 'audit', title: 'Audit' },
];

export function parseRoute(hash: string): Route {
  const [page = 'players', id] = hash.replace(/^#\/?/, '').split('/');
  if (page === 'players') return id ? { page, playerId: decodeURIComponent(id) } : { page };
  const known = PAGES.find((p) => p.page === page);
  return known ? ({ page: known.page } as Route) : { page: 'players' };
}

export const hrefOf = (route: Route): string =>
  route.page === 'players' && route.playerId ? `#/players/${encodeURIComponent(route.playerId)}` : `#/${route.page}`;

export function navigate(route: Route): void {
  window.location.hash = hrefOf(route);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
