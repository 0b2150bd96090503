/** Small DOM helpers for the console (no framework: the page must stay small). */

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`#${id} is missing from the console page`);
  return element as T;
}

/** Creates an element with text content and attributes. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text = '',
  attributes: Record<string, string> = {},
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  element.textContent = text;
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  return element;
}

/** Tabs per the WAI-ARIA pattern: click or arrow keys move selection and focus. */
export function setUpTabs(tabs: HTMLElement[], onSelect: (tab: HTMLElement) => void): void {
  const select = (tab: HTMLElement): void => {
    for (const other of tabs) {
      const selected = other === tab;
      other.setAttribute('aria-selected', String(selected));
      other.tabIndex = selected ? 0 : -1;
      byId(other.getAttribute('aria-controls')!).hidden = !selected;
    }
    tab.focus();
    onSelect(tab);
  };
  tabs.forEach((tab, index) => {
    tab.addEventListener('click', () => select(tab));
    tab.addEventListener('keydown', (event) => {
      const step = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
      if (step !== 0) select(tabs[(index + step + tabs.length) % tabs.length]!);
    });
  });
}

export const TOKEN_KEY = 'switchboard.token';

/** The token for `--auth token` servers, kept in sessionStorage (this tab only). */
export function storedToken(): string | undefined {
  return sessionStorage.getItem(TOKEN_KEY) || undefined;
}

/** A table body's rows from cells (strings, or elements for buttons); numbers align right. */
export function fillTable(
  table: HTMLElement,
  rows: Array<Array<string | number | HTMLElement>>,
  empty: string,
): void {
  const body = table.querySelector('tbody')!;
  const columns = table.querySelectorAll('thead th').length;
  if (rows.length === 0) {
    const row = el('tr');
    row.append(el('td', empty, { colspan: String(columns), class: 'empty' }));
    body.replaceChildren(row);
    return;
  }
  body.replaceChildren(
    ...rows.map((cells) => {
      const row = el('tr');
      for (const cell of cells) {
        if (typeof cell === 'number') row.append(el('td', String(cell), { class: 'number' }));
        else if (typeof cell === 'string') row.append(el('td', cell));
        else {
          const td = el('td');
          td.append(cell);
          row.append(td);
        }
      }
      return row;
    }),
  );
}

/** A button that runs `action` on click. */
export function button(label: string, action: () => void, ariaLabel = label): HTMLButtonElement {
  const element = el('button', label, { type: 'button', 'aria-label': ariaLabel });
  element.addEventListener('click', action);
  return element;
}
