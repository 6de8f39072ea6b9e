// One vocabulary for events and for what must be let go, for every subsystem
// (and the browser: this module imports nothing). An Emitter fires an Event
// to its listeners, each of which holds the Disposable that removes it; a
// DisposableStore lets many go at once. A listener that throws is reported
// (onError), never allowed to keep the others from hearing.

export interface Disposable {
  dispose(): void;
}

/** Subscribes a listener; dispose() what it returns to unsubscribe. */
export type Event<T> = (listener: (value: T) => void) => Disposable;

export function toDisposable(fn: () => void): Disposable {
  let done = false;
  return {
    dispose() {
      if (done) return;
      done = true;
      fn();
    },
  };
}

export class Emitter<T> implements Disposable {
  private readonly listeners = new Set<(value: T) => void>();

  /** `onError` hears what a listener threw: a bug in one subscriber must not end the server. */
  constructor(private readonly onError: (err: unknown) => void = (err) => console.error(err)) {}

  readonly event: Event<T> = (listener) => {
    this.listeners.add(listener);
    return toDisposable(() => this.listeners.delete(listener));
  };

  fire(value: T): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(value);
      } catch (err) {
        this.onError(err);
      }
    }
  }

  get size(): number {
    return this.listeners.size;
  }

  dispose(): void {
    this.listeners.clear();
  }
}

/** Emitters by key (a learner, a terminal), made on first listener, gone with their last. */
export class KeyedEmitter<K, T> {
  private readonly emitters = new Map<K, Emitter<T>>();

  constructor(private readonly onError?: (err: unknown) => void) {}

  on(key: K, listener: (value: T) => void): Disposable {
    let emitter = this.emitters.get(key);
    if (!emitter) this.emitters.set(key, (emitter = new Emitter<T>(this.onError)));
    const sub = emitter.event(listener);
    return toDisposable(() => {
      sub.dispose();
      if (emitter.size === 0) this.emitters.delete(key);
    });
  }

  fire(key: K, value: T): void {
    this.emitters.get(key)?.fire(value);
  }

  has(key: K): boolean {
    return this.emitters.has(key);
  }
}

/** Many disposables, let go together (in the reverse of the order they came in). */
export class DisposableStore implements Disposable {
  private readonly items: Disposable[] = [];
  private disposed = false;

  add<D extends Disposable>(item: D): D {
    if (this.disposed) item.dispose();
    else this.items.push(item);
    return item;
  }

  dispose(): void {
    this.disposed = true;
    for (const item of this.items.splice(0).reverse()) item.dispose();
  }
}
