// The routes each row is loaded on: the list, one item and a page. They take different paths
// through a framework (no parameter, a path parameter, a query), so one route alone cannot
// stand for a service's speed.
import type { RowId } from './targets.ts';

export const ROUTE_IDS = ['list', 'item', 'page'] as const;
export type RouteId = (typeof ROUTE_IDS)[number];

/** What each route appends to the service's path prefix (`/api/books`). */
export const ROUTE_SUFFIX: Record<RouteId, string> = {
  list: '',
  item: '/3',
  page: '?limit=4&offset=1',
};

/** The rows the service is compared with on every route; the others show one path only. */
const EVERY_ROUTE: readonly RowId[] = ['raw', 'service', 'floor', 'fastify', 'express'];

export function routesOf(row: RowId, wanted: readonly RouteId[]): RouteId[] {
  return EVERY_ROUTE.includes(row) ? [...wanted] : wanted.includes('list') ? ['list'] : [];
}

export function routeLabel(route: RouteId, prefix = '/api/books'): string {
  return `GET ${prefix}${ROUTE_SUFFIX[route]}`;
}
