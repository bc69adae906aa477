// Presets shaped like well-known microservice demo systems. Only the shape is borrowed (which
// component calls which, and roughly how often per request); all numbers that drive metrics
// are drawn per seed by the metric generator. Edge directions follow shared-schemas/topology.ts:
// CALLS caller -> callee, DEPENDS_ON consumer -> queue.
import type { TopologyNodeKind } from '../../shared-schemas/src/index.js';

export const PRESET_NAMES = ['online-boutique', 'sock-shop', 'social-network', 'train-ticket'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

type WorkloadKind = Exclude<TopologyNodeKind, 'Host' | 'Instance'>;

/** A topology without hosts: what presets and the random generator produce. */
export interface Blueprint {
  name: string;
  nodes: Array<{ name: string; kind: WorkloadKind; engine?: string }>;
  /** caller -> callee; calls_per_request may be fractional (share of requests that call). */
  calls: Array<{ from: string; to: string; protocol: string; callsPerRequest: number; criticality: number }>;
  /** consumer -> queue (asynchronous), or dependent -> dependency. */
  dependsOn: Array<{ from: string; to: string; protocol: string; criticality: number }>;
}

export interface PresetInfo {
  name: PresetName;
  description: string;
  /** Non-host nodes (services, datastores, queues, load balancers). */
  nodeCount: number;
  defaultHosts: number;
}

type N = [name: string, kind: WorkloadKind, engine?: string];
/** [from, to, calls per request, criticality (default 0.8), protocol (default per target)] */
type C = [from: string, to: string, cpr: number, criticality?: number, protocol?: string];

const DEFAULT_CRITICALITY = 0.8;
const ENGINE_PROTOCOL: Record<string, string> = {
  redis: 'redis',
  memcached: 'memcached',
  mongodb: 'mongodb',
  mysql: 'sql',
  rabbitmq: 'amqp',
};

function build(
  name: PresetName,
  serviceProtocol: string,
  nodes: N[],
  calls: C[],
  consumes: Array<[consumer: string, queue: string]>,
): Blueprint {
  const engine = new Map(nodes.map(([n, , e]) => [n, e]));
  return {
    name,
    nodes: nodes.map(([n, kind, e]) => (e === undefined ? { name: n, kind } : { name: n, kind, engine: e })),
    calls: calls.map(([from, to, cpr, crit, proto]) => ({
      from,
      to,
      protocol: proto ?? ENGINE_PROTOCOL[engine.get(to) ?? ''] ?? serviceProtocol,
      callsPerRequest: cpr,
      criticality: crit ?? DEFAULT_CRITICALITY,
    })),
    dependsOn: consumes.map(([from, to]) => ({ from, to, protocol: 'amqp', criticality: 0.9 })),
  };
}

// Google's Online Boutique: 10 gRPC services, a Redis cart store, the frontend-external
// load balancer in front of the frontend (the load generator is the traffic source).
function onlineBoutique(): Blueprint {
  return build(
    'online-boutique',
    'grpc',
    [
      ['frontend-external', 'LoadBalancer'],
      ['frontend', 'Service'],
      ['ad', 'Service'],
      ['recommendation', 'Service'],
      ['productcatalog', 'Service'],
      ['cart', 'Service'],
      ['shipping', 'Service'],
      ['currency', 'Service'],
      ['checkout', 'Service'],
      ['payment', 'Service'],
      ['email', 'Service'],
      ['redis-cart', 'Cache', 'redis'],
    ],
    [
      ['frontend-external', 'frontend', 1, 1, 'http'],
      ['frontend', 'ad', 0.6, 0.1],
      ['frontend', 'recommendation', 0.5, 0.2],
      ['frontend', 'productcatalog', 2.5],
      ['frontend', 'cart', 0.8],
      ['frontend', 'shipping', 0.3],
      ['frontend', 'currency', 1.8],
      ['frontend', 'checkout', 0.05],
      ['checkout', 'productcatalog', 2],
      ['checkout', 'shipping', 2],
      ['checkout', 'payment', 1, 1],
      ['checkout', 'email', 1, 0.3],
      ['checkout', 'currency', 3],
      ['checkout', 'cart', 2],
      ['recommendation', 'productcatalog', 1],
      ['cart', 'redis-cart', 1.5, 1],
    ],
    [],
  );
}

// Weaveworks Sock Shop: HTTP services with their own databases; shipping publishes orders to
// RabbitMQ and queue-master consumes them.
function sockShop(): Blueprint {
  return build(
    'sock-shop',
    'http',
    [
      ['edge-router', 'LoadBalancer'],
      ['front-end', 'Service'],
      ['catalogue', 'Service'],
      ['catalogue-db', 'Database', 'mysql'],
      ['carts', 'Service'],
      ['carts-db', 'Database', 'mongodb'],
      ['orders', 'Service'],
      ['orders-db', 'Database', 'mongodb'],
      ['payment', 'Service'],
      ['shipping', 'Service'],
      ['queue-master', 'Service'],
      ['rabbitmq', 'Queue', 'rabbitmq'],
      ['user', 'Service'],
      ['user-db', 'Database', 'mongodb'],
    ],
    [
      ['edge-router', 'front-end', 1, 1],
      ['front-end', 'catalogue', 1.5],
      ['front-end', 'carts', 0.6],
      ['front-end', 'orders', 0.1],
      ['front-end', 'user', 0.4],
      ['catalogue', 'catalogue-db', 1, 1],
      ['carts', 'carts-db', 1.2, 1],
      ['orders', 'user', 1],
      ['orders', 'carts', 1],
      ['orders', 'payment', 1, 1],
      ['orders', 'shipping', 1],
      ['orders', 'orders-db', 1, 1],
      ['user', 'user-db', 1, 1],
      ['shipping', 'rabbitmq', 1, 0.9],
    ],
    [['queue-master', 'rabbitmq']],
  );
}

// DeathStarBench socialNetwork: Thrift services behind nginx, each store a MongoDB with a
// Memcached or Redis in front; home timelines are written asynchronously through RabbitMQ.
function socialNetwork(): Blueprint {
  return build(
    'social-network',
    'thrift',
    [
      ['nginx-web-server', 'LoadBalancer'],
      ['media-frontend', 'Service'],
      ['compose-post-service', 'Service'],
      ['text-service', 'Service'],
      ['user-mention-service', 'Service'],
      ['url-shorten-service', 'Service'],
      ['media-service', 'Service'],
      ['unique-id-service', 'Service'],
      ['social-graph-service', 'Service'],
      ['user-service', 'Service'],
      ['user-timeline-service', 'Service'],
      ['home-timeline-service', 'Service'],
      ['post-storage-service', 'Service'],
      ['write-home-timeline-service', 'Service'],
      ['write-home-timeline-rabbitmq', 'Queue', 'rabbitmq'],
      ['social-graph-mongodb', 'Database', 'mongodb'],
      ['social-graph-redis', 'Cache', 'redis'],
      ['user-mongodb', 'Database', 'mongodb'],
      ['user-memcached', 'Cache', 'memcached'],
      ['user-timeline-mongodb', 'Database', 'mongodb'],
      ['user-timeline-redis', 'Cache', 'redis'],
      ['home-timeline-redis', 'Cache', 'redis'],
      ['post-storage-mongodb', 'Database', 'mongodb'],
      ['post-storage-memcached', 'Cache', 'memcached'],
      ['url-shorten-mongodb', 'Database', 'mongodb'],
      ['url-shorten-memcached', 'Cache', 'memcached'],
      ['media-mongodb', 'Database', 'mongodb'],
      ['media-memcached', 'Cache', 'memcached'],
    ],
    [
      ['nginx-web-server', 'compose-post-service', 0.1, 1, 'http'],
      ['nginx-web-server', 'home-timeline-service', 0.6, 1, 'http'],
      ['nginx-web-server', 'user-timeline-service', 0.3, 1, 'http'],
      ['nginx-web-server', 'social-graph-service', 0.05, 1, 'http'],
      ['nginx-web-server', 'user-service', 0.05, 1, 'http'],
      ['nginx-web-server', 'media-frontend', 0.02, 1, 'http'],
      ['media-frontend', 'media-mongodb', 1, 1],
      ['compose-post-service', 'text-service', 1],
      ['compose-post-service', 'media-service', 1, 0.5],
      ['compose-post-service', 'unique-id-service', 1],
      ['compose-post-service', 'user-service', 1],
      ['compose-post-service', 'post-storage-service', 1],
      ['compose-post-service', 'user-timeline-service', 1],
      ['compose-post-service', 'write-home-timeline-rabbitmq', 1, 0.9],
      ['text-service', 'url-shorten-service', 1],
      ['text-service', 'user-mention-service', 1],
      ['user-mention-service', 'user-memcached', 1.5, 0.3],
      ['user-mention-service', 'user-mongodb', 0.5],
      ['url-shorten-service', 'url-shorten-memcached', 1, 0.3],
      ['url-shorten-service', 'url-shorten-mongodb', 1],
      ['media-service', 'media-memcached', 1, 0.3],
      ['media-service', 'media-mongodb', 0.5],
      ['social-graph-service', 'social-graph-redis', 1, 0.3],
      ['social-graph-service', 'social-graph-mongodb', 0.3],
      ['social-graph-service', 'user-service', 0.5],
      ['user-service', 'user-memcached', 1, 0.3],
      ['user-service', 'user-mongodb', 0.3],
      ['user-timeline-service', 'user-timeline-redis', 1, 0.3],
      ['user-timeline-service', 'user-timeline-mongodb', 0.4],
      ['user-timeline-service', 'post-storage-service', 1],
      ['home-timeline-service', 'home-timeline-redis', 1],
      ['home-timeline-service', 'post-storage-service', 1],
      ['home-timeline-service', 'social-graph-service', 0.2],
      ['post-storage-service', 'post-storage-memcached', 2, 0.3],
      ['post-storage-service', 'post-storage-mongodb', 0.6],
      ['write-home-timeline-service', 'home-timeline-redis', 3],
      ['write-home-timeline-service', 'social-graph-service', 1],
    ],
    [['write-home-timeline-service', 'write-home-timeline-rabbitmq']],
  );
}

// FudanSELab Train-Ticket: Spring Boot ts-*-service services behind the ts-ui-dashboard
// gateway, most with their own MongoDB; food orders are delivered through RabbitMQ.
function trainTicket(): Blueprint {
  const services = [
    'auth', 'user', 'verification-code', 'travel', 'travel2', 'basic', 'seat', 'travel-plan',
    'route-plan', 'preserve', 'preserve-other', 'security', 'order', 'order-other',
    'inside-payment', 'payment', 'cancel', 'rebook', 'execute', 'consign', 'consign-price',
    'food', 'station-food', 'train-food', 'delivery', 'notification', 'assurance', 'contacts',
    'route', 'station', 'train', 'config', 'price', 'admin-basic-info', 'admin-order',
    'admin-route', 'admin-travel', 'admin-user', 'voucher',
  ];
  const mongo = [
    'auth', 'user', 'travel', 'travel2', 'security', 'order', 'order-other', 'inside-payment',
    'payment', 'consign', 'consign-price', 'food', 'station-food', 'train-food', 'delivery',
    'notification', 'assurance', 'contacts', 'route', 'station', 'train', 'config', 'price',
  ];
  const s = (n: string): string => `ts-${n}-service`;
  const nodes: N[] = [
    ['ts-ui-dashboard', 'LoadBalancer'],
    ...services.map((n): N => [s(n), 'Service']),
    ...mongo.map((n): N => [`ts-${n}-mongo`, 'Database', 'mongodb']),
    ['ts-voucher-mysql', 'Database', 'mysql'],
    ['ts-rabbitmq', 'Queue', 'rabbitmq'],
  ];
  const calls: C[] = [];
  const ui: Array<[string, number]> = [
    ['auth', 0.08], ['user', 0.03], ['verification-code', 0.05], ['travel', 0.3], ['travel2', 0.15],
    ['travel-plan', 0.05], ['preserve', 0.04], ['preserve-other', 0.02], ['order', 0.08],
    ['order-other', 0.04], ['contacts', 0.04], ['inside-payment', 0.03], ['cancel', 0.01],
    ['rebook', 0.01], ['execute', 0.02], ['consign', 0.02], ['food', 0.03], ['assurance', 0.02],
    ['station', 0.05], ['admin-basic-info', 0.005], ['admin-order', 0.005], ['admin-route', 0.005],
    ['admin-travel', 0.005], ['admin-user', 0.005], ['voucher', 0.01],
  ];
  for (const [n, share] of ui) calls.push(['ts-ui-dashboard', s(n), share, 1, 'http']);
  const svc: Array<[string, string[]]> = [
    ['auth', ['verification-code']],
    ['user', ['auth']],
    ['travel', ['basic', 'seat', 'route', 'train', 'order']],
    ['travel2', ['basic', 'seat', 'route', 'train', 'order-other']],
    ['basic', ['station', 'train', 'route', 'price']],
    ['seat', ['order', 'order-other', 'config']],
    ['travel-plan', ['route-plan', 'travel', 'travel2', 'station', 'seat']],
    ['route-plan', ['route', 'travel', 'travel2', 'station']],
    ['preserve', ['basic', 'seat', 'security', 'contacts', 'travel', 'order', 'assurance', 'food', 'consign', 'user', 'station', 'notification']],
    ['preserve-other', ['basic', 'seat', 'security', 'contacts', 'travel2', 'order-other', 'assurance', 'food', 'consign', 'user', 'station', 'notification']],
    ['security', ['order', 'order-other']],
    ['order', ['station']],
    ['order-other', ['station']],
    ['inside-payment', ['order', 'order-other', 'payment']],
    ['cancel', ['order', 'order-other', 'inside-payment', 'user', 'notification']],
    ['rebook', ['order', 'order-other', 'travel', 'travel2', 'inside-payment', 'seat', 'station', 'train']],
    ['execute', ['order', 'order-other']],
    ['consign', ['consign-price']],
    ['food', ['station-food', 'train-food', 'travel']],
    ['admin-basic-info', ['station', 'train', 'config', 'price', 'contacts']],
    ['admin-order', ['order', 'order-other']],
    ['admin-route', ['route']],
    ['admin-travel', ['travel', 'travel2']],
    ['admin-user', ['user']],
    ['voucher', ['order']],
  ];
  const optional = new Set(['notification', 'assurance', 'food', 'consign']);
  for (const [from, tos] of svc) {
    for (const to of tos) calls.push([s(from), s(to), 1, optional.has(to) ? 0.3 : DEFAULT_CRITICALITY]);
  }
  for (const n of mongo) calls.push([s(n), `ts-${n}-mongo`, 1, 1]);
  calls.push([s('voucher'), 'ts-voucher-mysql', 1, 1]);
  calls.push([s('food'), 'ts-rabbitmq', 1, 0.5]);
  return build('train-ticket', 'http', nodes, calls, [[s('delivery'), 'ts-rabbitmq']]);
}

const BUILDERS: Record<PresetName, () => Blueprint> = {
  'online-boutique': onlineBoutique,
  'sock-shop': sockShop,
  'social-network': socialNetwork,
  'train-ticket': trainTicket,
};

const DESCRIPTIONS: Record<PresetName, [description: string, defaultHosts: number]> = {
  'online-boutique': ['Google Online Boutique: 10 gRPC services, redis-cart, frontend-external load balancer', 4],
  'sock-shop': ['Weaveworks Sock Shop: 8 services, 4 databases, RabbitMQ, edge-router', 4],
  'social-network': ['DeathStarBench socialNetwork: 13 services, 13 MongoDB/Memcached/Redis stores, RabbitMQ, nginx', 8],
  'train-ticket': ['FudanSELab Train-Ticket: 39 ts-*-service services, 24 databases, RabbitMQ, ts-ui-dashboard', 12],
};

/** The preset's blueprint (a fresh copy each call). */
export function presetBlueprint(name: PresetName): Blueprint {
  return BUILDERS[name]();
}

/** Name, description, size and default host count of every preset. */
export function listPresets(): PresetInfo[] {
  return PRESET_NAMES.map((name) => ({
    name,
    description: DESCRIPTIONS[name][0],
    nodeCount: BUILDERS[name]().nodes.length,
    defaultHosts: DESCRIPTIONS[name][1],
  }));
}
