"use client";

import { useRouter } from "next/navigation";
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { SESSION_CHANNEL } from "../constants.js";
import { TesseraError } from "../errors.js";
import { type AuthPathsInput, defineAuthPaths } from "../paths.js";
import type { Session, SessionData, User } from "../types.js";

export type SessionStatus = "loading" | "authenticated" | "unauthenticated";

export interface SessionContextValue {
  status: SessionStatus;
  user: User | null;
  session: Session | null;
  /** Asks the server again; tells the other tabs when the answer changed. */
  update(): Promise<SessionData | null>;
}

export interface SessionProviderProps {
  /** What the server rendered with (`await getSession()`); omit to fetch on mount. */
  initialSession?: SessionData | null;
  /** The app's paths from `defineAuthPaths` (its `basePath`; default `/api/auth`). */
  paths?: AuthPathsInput;
  /** Re-render server components when another tab signs out (default true). */
  refreshOnSignOut?: boolean;
  children: ReactNode;
}

type Known = { status: "loading" } | { status: "authenticated"; data: SessionData } | { status: "unauthenticated" };

const SessionContext = createContext<SessionContextValue | null>(null);

function fromInitial(initial: SessionData | null | undefined): Known {
  if (initial === undefined) return { status: "loading" };
  return initial ? { status: "authenticated", data: initial } : { status: "unauthenticated" };
}

/** Who is signed in, as a comparable key ("" when nobody, undefined when unknown). */
function identity(known: Known): string | undefined {
  if (known.status === "loading") return undefined;
  return known.status === "authenticated" ? `${known.data.user.id}/${known.data.session.id}` : "";
}

interface ChannelMessage {
  type: "session-changed";
}

/**
 * Holds the session for client components. Tabs tell each other through a
 * BroadcastChannel when the session changes; the message carries no data,
 * each tab asks the server itself, so a forged message can only cause a check.
 */
export function SessionProvider({ initialSession, paths, refreshOnSignOut = true, children }: SessionProviderProps): ReactNode {
  const router = useRouter();
  // A string, not the object: a server component's props arrive as a new object each render.
  const { basePath } = defineAuthPaths(paths);
  const [known, setKnown] = useState<Known>(() => fromInitial(initialSession));
  const lastIdentity = useRef<string | undefined>(identity(fromInitial(initialSession)));
  const channel = useRef<BroadcastChannel | null>(null);

  const announce = useCallback((next: Known) => {
    const nextIdentity = identity(next);
    const changed = nextIdentity !== undefined && lastIdentity.current !== undefined && nextIdentity !== lastIdentity.current;
    if (nextIdentity !== undefined) lastIdentity.current = nextIdentity;
    if (changed) channel.current?.postMessage({ type: "session-changed" } satisfies ChannelMessage);
  }, []);

  const fetchSession = useCallback(async (): Promise<Known | null> => {
    try {
      const response = await fetch(`${basePath}/session`, { credentials: "same-origin", cache: "no-store", headers: { accept: "application/json" } });
      if (response.status === 401) return { status: "unauthenticated" };
      if (!response.ok) return null;
      return { status: "authenticated", data: (await response.json()) as SessionData };
    } catch {
      return null;
    }
  }, [basePath]);

  const update = useCallback(async (): Promise<SessionData | null> => {
    const next = await fetchSession();
    if (next === null) return known.status === "authenticated" ? known.data : null;
    setKnown(next);
    announce(next);
    return next.status === "authenticated" ? next.data : null;
  }, [announce, fetchSession, known]);

  // A server render (after a server action, a navigation or router.refresh()) brings a new initialSession.
  const initialIdentity = identity(fromInitial(initialSession));
  useEffect(() => {
    if (initialSession === undefined) return;
    const next = fromInitial(initialSession);
    setKnown(next);
    announce(next);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- keyed on who is signed in, not on object identity
  }, [initialIdentity]);

  useEffect(() => {
    if (initialSession === undefined) void update();
    // eslint-disable-next-line react-hooks/exhaustive-deps -- only on mount
  }, []);

  useEffect(() => {
    if (typeof BroadcastChannel === "undefined") return;
    const bc = new BroadcastChannel(SESSION_CHANNEL);
    channel.current = bc;
    bc.onmessage = async () => {
      const next = await fetchSession();
      if (next === null) return;
      const before = lastIdentity.current;
      const after = identity(next);
      lastIdentity.current = after;
      setKnown(next);
      if (before !== after && (next.status === "unauthenticated" || before === "") && refreshOnSignOut) router.refresh();
    };
    return () => {
      bc.close();
      channel.current = null;
    };
  }, [fetchSession, refreshOnSignOut, router]);

  const value = useMemo<SessionContextValue>(
    () => ({
      status: known.status,
      user: known.status === "authenticated" ? known.data.user : null,
      session: known.status === "authenticated" ? known.data.session : null,
      update,
    }),
    [known, update],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

/** The session as client components see it. Must be used under `<SessionProvider>`. */
export function useSession(): SessionContextValue {
  const value = useContext(SessionContext);
  if (!value) throw new TesseraError("config_invalid", "useSession() must be used inside <SessionProvider>");
  return value;
}
