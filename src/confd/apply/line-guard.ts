// Guard against rendering from a partial or wiped data source: a render
// that shrinks the destination by more than a share of its lines at once is
// refused and reported. (With 10,000 pods, an emptied prefix would otherwise
// turn the nginx upstream into an empty one in a single step.)

export function lineCount(text: string): number {
  if (text === "") return 0;
  let n = 0;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) n++;
  return text.endsWith("\n") ? n : n + 1;
}

export interface LineLoss {
  oldLines: number;
  newLines: number;
  /** Share of the old lines that would disappear (0..1). */
  share: number;
}

export function lineLoss(oldText: string, newText: string): LineLoss {
  const oldLines = lineCount(oldText);
  const newLines = lineCount(newText);
  const share = oldLines === 0 || newLines >= oldLines ? 0 : (oldLines - newLines) / oldLines;
  return { oldLines, newLines, share };
}

/** True when the shrink exceeds `maxShare` (1 disables the guard). */
export function exceedsLoss(loss: LineLoss, maxShare: number): boolean {
  return maxShare < 1 && loss.share > maxShare;
}
