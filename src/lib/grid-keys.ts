/** The grid's keyboard map as a pure function: which key does what, given where the active cell is. */

export interface CellPosition {
  /** Position in the current row order. */
  pos: number;
  col: number;
}

export interface GridExtent {
  rows: number;
  cols: number;
  /** The wafer-name column is reachable as column NAME_COL, left of the first data column (it opens explanations). */
  nameColumn?: boolean;
}

/** The wafer-name column's position: Enter there explains the wafer instead of editing a cell. */
export const NAME_COL = -1;

export type GridKeyAction = { kind: 'move'; to: CellPosition } | { kind: 'edit'; at: CellPosition } | { kind: 'explain'; at: CellPosition };

/** Rows a Page Up/Down moves: a viewport's worth, less one so the previous edge row stays in sight. */
export function pageRows(bodyHeight: number, rowHeight: number): number {
  return Math.max(1, Math.floor(bodyHeight / rowHeight) - 1);
}

function clampedMove(pos: number, col: number, extent: GridExtent): GridKeyAction {
  return {
    kind: 'move',
    to: { pos: Math.min(extent.rows - 1, Math.max(0, pos)), col: Math.min(extent.cols - 1, Math.max(extent.nameColumn ? NAME_COL : 0, col)) },
  };
}

/** The action for a key press on the grid, or null when the key is not the grid's. */
export function gridKeyAction(key: string, ctrl: boolean, at: CellPosition, page: number, extent: GridExtent): GridKeyAction | null {
  const { pos, col } = at;
  switch (key) {
    case 'ArrowUp':
      return clampedMove(pos - 1, col, extent);
    case 'ArrowDown':
      return clampedMove(pos + 1, col, extent);
    case 'ArrowLeft':
      return clampedMove(pos, col - 1, extent);
    case 'ArrowRight':
      return clampedMove(pos, col + 1, extent);
    case 'PageUp':
      return clampedMove(pos - page, col, extent);
    case 'PageDown':
      return clampedMove(pos + page, col, extent);
    case 'Home':
      return ctrl ? clampedMove(0, 0, extent) : clampedMove(pos, 0, extent);
    case 'End':
      return ctrl ? clampedMove(extent.rows - 1, extent.cols - 1, extent) : clampedMove(pos, extent.cols - 1, extent);
    case 'Enter':
      return col === NAME_COL ? { kind: 'explain', at } : { kind: 'edit', at };
    case 'F2':
      return col === NAME_COL ? null : { kind: 'edit', at };
    default:
      return null;
  }
}
