// What a request may carry, as rules with one source: the services check by them, and the bench
// fixtures that do the services' work (the floor, Fastify) check by the same ones.

/** A caller's request id is kept when it is 1-200 of `[A-Za-z0-9_.:;=/+-]`, else replaced. */
export const REQUEST_ID = /^[\w.:;=/+-]{1,200}$/;

/** Ids are 32-bit positive integers, as the seed's numeric ids are. */
export const MAX_ID = 2_147_483_647;
