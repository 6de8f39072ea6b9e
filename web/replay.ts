// A recorded terminal replayed (asciinema-player, bundled: no CDN): play,
// pause and scrub in the player's own bar, a speed, the timeline's markers on
// that bar (check results, hints, the solution...), a list to jump to each,
// the check's words shown at the moment replayed, and the commands typed with
// the verdict that followed each. Shared by the dashboard's learner panel and
// the learner's history page.
import * as AsciinemaPlayer from 'asciinema-player';
import type { ReplayJson, ReplayMarker } from '../server/contracts/recordings.js';
import { request } from './terminal/api.js';

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: Array<Node | string>): HTMLElementTagNameMap[K] {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

const clock = (s: number) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}`;

export interface Replay {
  data: ReplayJson;
  /** Seeks to marker `index` (paused there) and shows what it says. */
  jump(index: number): Promise<void>;
  /** The replayed screen's text. */
  screenText(): string;
  /** What the "at this moment" line says. */
  moment(): string;
  dispose(): void;
}

/** Replays the recording whose replay JSON is at `url` in `box`. */
export async function mountReplay(box: HTMLElement, url: string): Promise<Replay> {
  const data = await request<ReplayJson>('GET', url);
  const cast = await fetch(data.cast, { credentials: 'same-origin' }).then((r) => {
    if (!r.ok) throw new Error(`the recording could not be loaded (${r.status})`);
    return r.text();
  });
  const stage = el('div', { className: 'bx-replay-stage' });
  const moment = el('p', { className: 'bx-replay-moment', id: 'replay-moment', role: 'status' } as Partial<HTMLParagraphElement>);
  const speed = el('select', { id: 'replay-speed' }, ...[0.5, 1, 2, 4, 8].map((s) => el('option', { value: String(s), textContent: `${s}×`, selected: s === 1 })));
  speed.setAttribute('aria-label', 'Replay speed');
  const markers = data.markers;
  const markerList = el('ol', { className: 'bx-replay-markers', id: 'replay-markers' });
  const commandList = el('ol', { className: 'bx-replay-commands', id: 'replay-commands' });
  let player: AsciinemaPlayer.Player | undefined;

  const say = (m: ReplayMarker | undefined) => {
    moment.textContent = m ? `${clock(m.time)} · ${m.entry.kind === 'check' ? (m.entry.status === 'failed' ? `check of ${m.entry.exerciseId} failed: ${m.entry.reason ?? ''}` : `check of ${m.entry.exerciseId} passed`) : m.label}` : '';
    moment.dataset.kind = m?.entry.kind ?? '';
    moment.dataset.status = m?.entry.status ?? '';
  };
  /** The last marker at or before `t`. */
  const markerAt = (t: number) => [...markers].reverse().find((m) => m.time <= t + 0.001);

  const create = (startAt = 0, autoPlay = false) => {
    player?.dispose();
    stage.replaceChildren();
    player = AsciinemaPlayer.create({ data: cast }, stage, {
      cols: data.recording.cols,
      rows: data.recording.rows,
      fit: 'width',
      speed: Number(speed.value),
      startAt,
      autoPlay,
      preload: true,
      idleTimeLimit: 3,
      terminalFontSize: '12px',
      markers: markers.map((m) => [m.time, m.label] as [number, string]),
    });
    player.addEventListener('marker', ({ index }) => say(markers[index]));
  };
  create();

  speed.addEventListener('change', () => {
    const at = player?.getCurrentTime() ?? 0;
    create(at, true);
  });

  const jump = async (index: number) => {
    const m = markers[index];
    if (!m || !player) return;
    await player.seek({ marker: index });
    await player.pause();
    say(m);
  };
  markers.forEach((m, i) => {
    const b = el('button', { type: 'button', className: 'bx-link', textContent: `${clock(m.time)} ${m.label}` });
    b.dataset.kind = m.entry.kind;
    b.dataset.status = m.entry.status ?? '';
    b.addEventListener('click', () => void jump(i));
    markerList.append(el('li', {}, b));
  });
  for (const c of data.commands) {
    const b = el('button', { type: 'button', className: 'bx-link' }, el('code', { textContent: c.line }));
    b.addEventListener('click', async () => {
      if (!player) return;
      await player.seek(c.time);
      await player.pause();
      say(markerAt(c.time));
    });
    const verdict = c.verdict ? (c.verdict.status === 'failed' ? `✗ ${c.verdict.exerciseId}: ${c.verdict.reason ?? ''}` : `✓ ${c.verdict.exerciseId}`) : '';
    commandList.append(el('li', {}, el('span', { className: 'bx-replay-time', textContent: clock(c.time) }), b, el('span', { className: 'bx-replay-verdict', textContent: verdict })));
  }
  box.replaceChildren(
    stage,
    el('div', { className: 'bx-replay-bar' }, el('label', {}, 'Speed ', speed), moment),
    el('h3', { textContent: 'Marks' }),
    markers.length ? markerList : el('p', { className: 'ws-sub', textContent: 'No checks, hints or solutions while this terminal was open.' }),
    el('h3', { textContent: 'Commands, and what the check said next' }),
    data.commands.length ? commandList : el('p', { className: 'ws-sub', textContent: 'No commands entered.' }),
  );
  return {
    data,
    jump,
    screenText: () => stage.querySelector('.ap-term-text')?.textContent ?? '',
    moment: () => moment.textContent ?? '',
    dispose: () => {
      player?.dispose();
      player = undefined;
    },
  };
}
