import * as z from '../zod';

/**
 * What the AMI watcher is invoked with (template.yaml, WatchAmiFunction): its hourly schedule sends
 * `{"action":"watch"}`, its step schedule `{"action":"step"}`, and a person (`aws lambda invoke`, later
 * the command-line tool) may send `{"action":"rollback","autoScalingGroupName":"..."}`. An empty `{}`
 * means watch, and so does the scheduled event EventBridge sends a schedule without an Input (a stack
 * deployed before the schedules named their action). Anything else is refused, never guessed.
 */
const Watch = z.strictObject({ action: z.optional(z.literal('watch')) });
const Step = z.strictObject({ action: z.literal('step') });
const Rollback = z.strictObject({
  action: z.literal('rollback'),
  // Auto Scaling's own limit on a group name.
  autoScalingGroupName: z.string().check(z.minLength(1), z.maxLength(255)),
});
const ScheduledEvent = z.looseObject({
  source: z.literal('aws.events'),
  'detail-type': z.literal('Scheduled Event'),
});

export const WatchAmiInput = z.union([
  z.pipe(
    Watch,
    z.transform(() => ({ action: 'watch' as const })),
  ),
  Step,
  Rollback,
  z.pipe(
    ScheduledEvent,
    z.transform(() => ({ action: 'watch' as const })),
  ),
]);
export type WatchAmiInput = z.output<typeof WatchAmiInput>;

/** What a refused input is told it should have been. */
export const WATCH_AMI_INPUTS =
  '{} or {"action":"watch"}, {"action":"step"}, {"action":"rollback","autoScalingGroupName":"<a served group>"}';
