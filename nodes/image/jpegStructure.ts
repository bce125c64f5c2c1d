/**
 * Checks a JPEG's structure without decoding pixels: the SOI marker, every marker segment's length, and the
 * entropy-coded data of each scan up to the EOI marker. This catches truncated files (the common corruption:
 * an interrupted copy or download) in a fraction of a decode's time. Bytes after EOI are allowed (cameras
 * append motion-photo videos and previews there). Garbage inside the entropy-coded data is not detected here;
 * the decode that uses the image fails on it. Returns the problem, or undefined when the structure is whole.
 */
export function jpegStructureProblem(data: Buffer): string | undefined {
  const n = data.length;
  if (n < 2 || data[0] !== 0xff || data[1] !== 0xd8) return 'no JPEG start-of-image marker';
  let scans = 0;
  let i = 2;
  for (;;) {
    if (i >= n) return 'truncated: the file ends before its end-of-image marker';
    if (data[i] !== 0xff) return `no marker where one belongs (byte ${i})`;
    while (i < n && data[i] === 0xff) i++; // fill bytes before a marker
    if (i >= n) return 'truncated: the file ends before its end-of-image marker';
    const marker = data[i++]!;
    if (marker === 0xd9) return scans > 0 ? undefined : 'no image data (end-of-image before any scan)';
    // Markers without a length: TEM and the restart markers RST0-7.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0x00 || marker === 0xd8) return `unexpected marker 0xff${hex(marker)} (byte ${i - 2})`;
    if (i + 2 > n) return 'truncated inside a marker segment';
    const length = (data[i]! << 8) | data[i + 1]!;
    if (length < 2) return `bad length of marker segment 0xff${hex(marker)} (byte ${i - 2})`;
    if (i + length > n) return `truncated inside marker segment 0xff${hex(marker)}`;
    i += length;
    if (marker !== 0xda) continue;
    // Start of scan: entropy-coded data follows, where 0xff is followed by 0x00 (a stuffed byte) or a restart
    // marker; any other 0xff xx is the next marker.
    scans++;
    for (;;) {
      const ff = data.indexOf(0xff, i);
      if (ff < 0 || ff + 1 >= n) return 'truncated inside the image data (no end-of-image marker)';
      const next = data[ff + 1]!;
      if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) i = ff + 2;
      else if (next === 0xff) i = ff + 1;
      else {
        i = ff;
        break;
      }
    }
  }
}

function hex(b: number): string {
  return b.toString(16).padStart(2, '0');
}
