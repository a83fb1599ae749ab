import { tessera } from "@/lib/auth";
import { ApiAccess } from "./api-access";
import { SessionStatus } from "./session-status";

export const metadata = { title: "Dashboard · Tessera demo" };

export default async function DashboardPage() {
  const user = await tessera.requireUser("/dashboard");
  return (
    <section>
      <h1>Dashboard</h1>
      <p>
        Signed in as <strong data-testid="user-email">{user.email}</strong> (rendered on the server).
      </p>
      <SessionStatus />
      <ApiAccess />
    </section>
  );
}
