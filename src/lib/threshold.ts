/** What the threshold box accepts: a number from 0 to 1. Anything else is refused, said, and never applied. */
import { formatProbability } from './format';

export type ThresholdInput = { ok: true; value: number } | { ok: false; message: string };

/** `text` is the box's value; `applied` the threshold in use, which a refused value leaves as it is. */
export function readThresholdInput(text: string, applied: number): ThresholdInput {
  const stays = `The threshold stays ${formatProbability(applied)}.`;
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, message: `Enter a threshold from 0 to 1. ${stays}` };
  const value = Number(trimmed);
  if (!Number.isFinite(value)) return { ok: false, message: `“${trimmed}” is not a number: enter a threshold from 0 to 1. ${stays}` };
  if (value < 0 || value > 1) return { ok: false, message: `${trimmed} is not applied: a threshold is a probability, from 0 to 1. ${stays}` };
  return { ok: true, value };
}
