import { type RunningServer, startApiServer } from './api/server';
import { setSimEpoch } from './clock';
import { SETTLE_SECONDS } from './scenario';
import type { World } from './world';

/**
 * A world served live on a local endpoint: it settles first (tasks placed before anyone looks), then
 * its simulated time follows the wall clock, `speed` times faster, so that what a person or a test
 * starts through the endpoint plays out while they watch. Its timestamps are wall-clock time (the
 * moment it starts serving is now), so that what runs outside it with its own clock (`sam local
 * invoke`, the functions' bundles, `ecs-drain status`) measures true ages; at a speed above 1 the
 * world's clock runs ahead of the wall clock. Used by `npm run sim:serve` and by the tests that run
 * `ecs-drain` or the bundles against the twin. Closing it puts the rehearsals' fixed epoch back.
 */
export interface LiveWorld {
  world: World;
  server: RunningServer;
  url: string;
  close(): Promise<void>;
}

/** How often simulated time catches up with the wall clock. */
const TICK_MS = 100;

export async function serveLive(
  world: World,
  {
    speed,
    port = 0,
    host = '127.0.0.1',
    onStop = (error) => {
      throw error;
    },
  }: {
    speed: number;
    port?: number;
    host?: string;
    /** A simulation that cannot go on (a stalled clock): told why, once; the clock no longer follows. */
    onStop?: (error: unknown) => void;
  },
): Promise<LiveWorld> {
  const server = await startApiServer(() => world.api, port, host);
  const restoreEpoch = setSimEpoch(Date.now() - (world.clock.now + SETTLE_SECONDS) * 1000);
  await world.clock.run(SETTLE_SECONDS);
  const origin = world.clock.now;
  const started = Date.now();
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    world.clock.run(origin + ((Date.now() - started) / 1000) * speed).then(
      () => {
        running = false;
      },
      (error: unknown) => {
        clearInterval(timer);
        onStop(error);
      },
    );
  }, TICK_MS);
  return {
    world,
    server,
    url: server.url,
    close: async () => {
      clearInterval(timer);
      await server.close();
      restoreEpoch();
    },
  };
}
