// Headless Chromium (Debian's /usr/bin/chromium) through playwright-core,
// with a fresh profile directory per launch.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "chromium-profile-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-quic",
      "--no-first-run",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1280, height: 1000 },
    // tests poll with string predicates, which the console's CSP (no eval) would refuse
    bypassCSP: true,
    timeout: 60_000,
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * The page's width at 700 px (a narrow window): nothing may scroll sideways
 * (scroll <= inner). The page at that width is saved as `png`; the viewport
 * goes back to 1280 px.
 */
export async function widthAt700(
  page: Page,
  png: string,
): Promise<{ scroll: number; inner: number }> {
  await page.setViewportSize({ width: 700, height: 900 });
  try {
    await page.waitForTimeout(200);
    const w = (await page.evaluate(
      `({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth })`,
    )) as { scroll: number; inner: number };
    writeFileSync(png, await page.screenshot({ fullPage: true }));
    return w;
  } finally {
    await page.setViewportSize({ width: 1280, height: 1000 });
  }
}
