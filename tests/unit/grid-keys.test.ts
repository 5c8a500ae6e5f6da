/** The grid's key map (grid-keys.ts): moves clamp to the table, Ctrl+Home/End go to the corners, Enter/F2 edit. */
import { describe, expect, test } from 'vitest';
import { gridKeyAction, NAME_COL, pageRows, type CellPosition } from '../../src/lib/grid-keys';

const extent = { rows: 1000, cols: 50 };
const middle: CellPosition = { pos: 500, col: 20 };
const move = (key: string, at: CellPosition = middle, ctrl = false) => gridKeyAction(key, ctrl, at, 15, extent);

describe('gridKeyAction', () => {
  test('arrows move one cell', () => {
    expect(move('ArrowUp')).toEqual({ kind: 'move', to: { pos: 499, col: 20 } });
    expect(move('ArrowDown')).toEqual({ kind: 'move', to: { pos: 501, col: 20 } });
    expect(move('ArrowLeft')).toEqual({ kind: 'move', to: { pos: 500, col: 19 } });
    expect(move('ArrowRight')).toEqual({ kind: 'move', to: { pos: 500, col: 21 } });
  });

  test('arrows stop at the edges', () => {
    expect(move('ArrowUp', { pos: 0, col: 0 })).toEqual({ kind: 'move', to: { pos: 0, col: 0 } });
    expect(move('ArrowLeft', { pos: 0, col: 0 })).toEqual({ kind: 'move', to: { pos: 0, col: 0 } });
    expect(move('ArrowDown', { pos: 999, col: 49 })).toEqual({ kind: 'move', to: { pos: 999, col: 49 } });
    expect(move('ArrowRight', { pos: 999, col: 49 })).toEqual({ kind: 'move', to: { pos: 999, col: 49 } });
  });

  test('Page Up/Down move a page and stop at the first and last row', () => {
    expect(move('PageDown')).toEqual({ kind: 'move', to: { pos: 515, col: 20 } });
    expect(move('PageUp')).toEqual({ kind: 'move', to: { pos: 485, col: 20 } });
    expect(move('PageDown', { pos: 990, col: 3 })).toEqual({ kind: 'move', to: { pos: 999, col: 3 } });
    expect(move('PageUp', { pos: 5, col: 3 })).toEqual({ kind: 'move', to: { pos: 0, col: 3 } });
  });

  test('Home/End go to the row’s ends, with Ctrl to the table’s corners', () => {
    expect(move('Home')).toEqual({ kind: 'move', to: { pos: 500, col: 0 } });
    expect(move('End')).toEqual({ kind: 'move', to: { pos: 500, col: 49 } });
    expect(move('Home', middle, true)).toEqual({ kind: 'move', to: { pos: 0, col: 0 } });
    expect(move('End', middle, true)).toEqual({ kind: 'move', to: { pos: 999, col: 49 } });
  });

  test('Enter and F2 edit the active cell', () => {
    expect(move('Enter')).toEqual({ kind: 'edit', at: middle });
    expect(move('F2')).toEqual({ kind: 'edit', at: middle });
  });

  test('with the wafer-name column: left of the first column, where Enter explains the wafer and F2 does nothing', () => {
    const withNames = { ...extent, nameColumn: true };
    const at = (col: number): CellPosition => ({ pos: 7, col });
    expect(gridKeyAction('ArrowLeft', false, at(0), 15, withNames)).toEqual({ kind: 'move', to: at(NAME_COL) });
    expect(gridKeyAction('ArrowLeft', false, at(NAME_COL), 15, withNames)).toEqual({ kind: 'move', to: at(NAME_COL) });
    expect(gridKeyAction('ArrowRight', false, at(NAME_COL), 15, withNames)).toEqual({ kind: 'move', to: at(0) });
    expect(gridKeyAction('Enter', false, at(NAME_COL), 15, withNames)).toEqual({ kind: 'explain', at: at(NAME_COL) });
    expect(gridKeyAction('F2', false, at(NAME_COL), 15, withNames)).toBeNull();
    expect(gridKeyAction('Enter', false, at(3), 15, withNames)).toEqual({ kind: 'edit', at: at(3) });
  });

  test('other keys are not the grid’s', () => {
    expect(move('a')).toBeNull();
    expect(move('Escape')).toBeNull();
    expect(move('Tab')).toBeNull();
  });
});

describe('pageRows', () => {
  test('a viewport of rows less one, at least one', () => {
    expect(pageRows(446, 28)).toBe(14);
    expect(pageRows(20, 28)).toBe(1);
    expect(pageRows(0, 28)).toBe(1);
  });
});
