import { lambdaDependencies } from '../../shared/drain/lambda-wiring';
import { createLaunchReadinessHandler } from './app';

// Created once per container; the launch queue invokes it (see template.yaml, LaunchReadinessFunction).
export const handler = createLaunchReadinessHandler(lambdaDependencies('launch'));
