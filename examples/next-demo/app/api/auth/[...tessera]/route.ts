import { tessera } from "@/lib/auth";

export const { GET, POST, DELETE } = tessera.handlers;
