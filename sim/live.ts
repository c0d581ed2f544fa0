import { type RunningServer, startApiServer } from './api/server';
import { SETTLE_SECONDS } from './scenario';
import type { World } from './world';

/**
 * A world served live on a local endpoint: it settles first (tasks placed before anyone looks), then
 * its simulated time follows the wall clock, `speed` times faster, so that what a person or a test
 * starts through the endpoint plays out while they watch. Used by `npm run sim:serve` and by the
 * tests that run `ecs-drain` against the twin.
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
    },
  };
}
