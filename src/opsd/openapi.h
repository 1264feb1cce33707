/* The OpenAPI 3.1 document of ops-worker's routes (src/opsd/openapi.json, embedded at build
 * time by rl_embed, cmake/embed.cmake), served at GET /openapi.json.
 * tests/unit/opsd/test_openapi.c checks it against the route table in api.c. */
#ifndef RL_OPSD_OPENAPI_H
#define RL_OPSD_OPENAPI_H

extern const char openapi_json[];

#endif
