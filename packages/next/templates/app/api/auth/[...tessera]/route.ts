import { tessera } from "../../../../lib/auth";

// /api/auth/X is forwarded to tessera's /v1/X, with the BFF key; its cookies come back unchanged.
export const { GET, POST, PATCH, DELETE } = tessera.handlers;
