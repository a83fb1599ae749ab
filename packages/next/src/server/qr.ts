import { encode } from "uqr";

export interface QrSvgOptions {
  /** The SVG's `<title>`, its accessible name (default "QR code for your authenticator app"). */
  title?: string;
  /** Width and height in CSS pixels (default 200); the drawing scales to it. */
  size?: number;
}

/** The QR code's quiet zone, in modules: 4 is what the standard asks for, so phone cameras find the code on any background. */
const QUIET_ZONE = 4;

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/**
 * The dark modules as one SVG path, a rectangle per horizontal run, from
 * the matrix `encode` gives (`true` is dark; its border is already included).
 */
export function qrPath(matrix: readonly (readonly boolean[])[]): string {
  const parts: string[] = [];
  matrix.forEach((row, y) => {
    let x = 0;
    while (x < row.length) {
      if (!row[x]) {
        x += 1;
        continue;
      }
      const start = x;
      while (x < row.length && row[x]) x += 1;
      parts.push(`M${start} ${y}h${x - start}v1h-${x - start}z`);
    }
  });
  return parts.join("");
}

/**
 * `text` (a TOTP enrolment's `otpauth://` URI) as a QR code in a standalone
 * `<svg>` string, made here with no network and no external service: safe to
 * put in the page as markup (the only text in it is the escaped title).
 * Error correction M, a quiet zone of 4 modules, black on white whatever
 * the page's colours, `role="img"` with the title as its name.
 */
export function totpQrSvg(text: string, options: QrSvgOptions = {}): string {
  const title = options.title ?? "QR code for your authenticator app";
  const size = options.size ?? 200;
  const qr = encode(text, { ecc: "M", border: QUIET_ZONE });
  const width = qr.data.length;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" width="${size}" height="${size}" viewBox="0 0 ${width} ${width}" shape-rendering="crispEdges">` +
    `<title>${escapeXml(title)}</title>` +
    `<rect width="${width}" height="${width}" fill="#fff"/>` +
    `<path fill="#000" d="${qrPath(qr.data)}"/>` +
    `</svg>`
  );
}
