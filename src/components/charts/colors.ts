/** The charts' colours, one place for all of them (each passes 3:1 against white for graphics, WCAG 1.4.11). */
export const COLORS = {
  fault: '#b3261e',
  neutral: '#5f7f9f',
  training: '#59636e',
  file: '#1f5fa8',
  ink: '#111111',
  axis: '#59636e',
  point: '#b3261e',
} as const;
