import { defineConfig } from "@playwright/test";

/**
 * The whole path a new user takes (issue 20), built from scratch by
 * global-setup.ts: create-next-app, the kit from its `npm pack` tarball,
 * `npx @tessera/next init`, `next build`, tessera and `next start`. Then
 * Debian's Chromium (never a downloaded one) signs up and out.
 */
export default defineConfig({
  testDir: "./specs",
  globalSetup: "./global-setup.ts",
  // create-next-app, npm install and next build run before the first test.
  globalTimeout: 15 * 60_000,
  outputDir: "./test-results",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: Boolean(process.env.CI),
  timeout: 30_000,
  expect: { timeout: 10_000 },
  reporter: [["list"]],
  use: {
    browserName: "chromium",
    headless: true,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    },
  },
});
