// A Preact hook around @tanstack/virtual-core's Virtualizer: only the rows in
// view (plus a few) are in the DOM, each row measured as it renders, so a
// conversation of 10,000 messages scrolls like one of 50.
//
// The hook mirrors the official React adapter: the instance is made once,
// its options are set on every render, and its DOM side (_willUpdate) runs in
// a layout effect after every commit, before the browser paints, so scroll
// corrections (a prepended page of history, a row that grew) never flash.
import { useLayoutEffect, useReducer, useState } from 'preact/hooks';
import {
  Virtualizer,
  elementScroll,
  observeElementOffset,
  observeElementRect,
  measureElement,
  type VirtualizerOptions,
} from '@tanstack/virtual-core';

export type VirtualOptions = Omit<
  VirtualizerOptions<HTMLElement, HTMLElement>,
  'observeElementRect' | 'observeElementOffset' | 'scrollToFn' | 'measureElement'
>;

export function useVirtualizer(opts: VirtualOptions): Virtualizer<HTMLElement, HTMLElement> {
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const full: VirtualizerOptions<HTMLElement, HTMLElement> = {
    observeElementRect,
    observeElementOffset,
    scrollToFn: elementScroll,
    measureElement,
    ...opts,
    onChange: (inst, sync) => {
      rerender(0);
      opts.onChange?.(inst, sync);
    },
  };
  const [v] = useState(() => new Virtualizer(full));
  v.setOptions(full);
  useLayoutEffect(() => v._didMount(), []);
  useLayoutEffect(() => v._willUpdate());
  return v;
}
