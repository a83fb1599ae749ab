import type { Page } from "@playwright/test";
import jsqr from "jsqr";

// jsqr is CommonJS whose types declare an ES default export: under NodeNext
// the default import is module.exports, the function, and its `default` is
// the same function again, which is what the types call `default`.
const jsQR = jsqr.default;

/**
 * Reads the QR code the page shows (the `<svg>` inside `selector`) the way a
 * phone camera would: the SVG drawn onto a canvas in the browser, its pixels
 * decoded by jsQR here. Null when nothing decodes.
 */
export async function readQrCode(page: Page, selector: string): Promise<string | null> {
  const image = await page.evaluate(async (css) => {
    const svg = document.querySelector(`${css} svg`);
    if (!svg) return null;
    const picture = new Image();
    picture.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(new XMLSerializer().serializeToString(svg))}`;
    await picture.decode();
    const size = 400;
    const canvas = document.createElement("canvas");
    canvas.width = size;
    canvas.height = size;
    const context = canvas.getContext("2d");
    if (!context) return null;
    context.drawImage(picture, 0, 0, size, size);
    return { size, pixels: Array.from(context.getImageData(0, 0, size, size).data) };
  }, selector);
  if (!image) return null;
  return jsQR(Uint8ClampedArray.from(image.pixels), image.size, image.size)?.data ?? null;
}
