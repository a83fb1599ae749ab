#!/usr/bin/env python3
"""The "by hand" half of docs/guide/add-to-nextjs.md shows every file that
`npx @tessera/next init` writes, whole, from the kit's templates
(packages/next/templates). This script writes that part between its
markers (--write) or checks that it is still the templates, byte for byte
(the default; the test command runs it), so the guide cannot drift from
what init writes."""
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs/guide/add-to-nextjs.md"
TEMPLATES = ROOT / "packages/next/templates"
BEGIN, END = "<!-- files:begin -->", "<!-- files:end -->"
# In the order a reader needs them; tsconfig files are the kit's own.
ORDER = [
    "lib/auth-paths.ts",
    "lib/auth.ts",
    "app/api/auth/[...tessera]/route.ts",
    "lib/auth-actions.ts",
    "proxy.ts",
    "lib/mail-token.ts",
    "lib/mail-token-cookie.ts",
    "components/auth-form.tsx",
    "app/login/page.tsx",
    "app/login/sign-in-form.tsx",
    "app/login/mfa/page.tsx",
    "app/login/mfa/mfa-form.tsx",
    "app/register/page.tsx",
    "app/register/sign-up-form.tsx",
    "app/forgot-password/page.tsx",
    "app/forgot-password/forgot-password-form.tsx",
    "app/reset-password/page.tsx",
    "app/reset-password/reset-password-form.tsx",
    "app/verify-email/page.tsx",
    "app/verify-email/verify-email-form.tsx",
    "app/account/page.tsx",
]


def rendered() -> str:
    missing = sorted(
        str(p.relative_to(TEMPLATES))
        for p in TEMPLATES.rglob("*")
        if p.is_file() and not p.name.startswith("tsconfig") and str(p.relative_to(TEMPLATES)) not in ORDER
    )
    if missing:
        sys.exit(f"guide-files.py: templates not in ORDER: {missing}")
    parts = []
    for rel in ORDER:
        text = (TEMPLATES / rel).read_text()
        lang = "tsx" if rel.endswith(".tsx") else "ts"
        parts.append(f"### `{rel}`\n\n```{lang}\n{text.rstrip()}\n```\n")
    return "\n".join(parts)


def main() -> None:
    guide = GUIDE.read_text()
    head, rest = guide.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    want = f"{head}{BEGIN}\n\n{rendered()}\n{END}{tail}"
    if "--write" in sys.argv[1:]:
        GUIDE.write_text(want)
        print(f"wrote {GUIDE.relative_to(ROOT)}")
    elif guide != want:
        sys.exit("docs/guide/add-to-nextjs.md differs from packages/next/templates: run python3 scripts/guide-files.py --write")
    else:
        print(f"docs/guide/add-to-nextjs.md: {len(ORDER)} files, same as the templates")


main()
