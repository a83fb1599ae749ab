import { tessera } from "@/lib/auth";

export const { GET, POST, PATCH, DELETE } = tessera.handlers;
