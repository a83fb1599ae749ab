import { tessera } from "@/lib/auth";
import { SessionsList } from "./sessions-list";

export const metadata = { title: "Devices · Tessera demo" };

export default async function SessionsPage() {
  await tessera.requireUser("/account/sessions");
  return (
    <section>
      <h1>Signed-in devices</h1>
      <p className="muted">Every browser or app where your account is signed in. Revoking one signs it out on its next request.</p>
      <SessionsList />
    </section>
  );
}
