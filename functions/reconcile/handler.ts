import { lambdaDependencies } from '../../shared/drain/lambda-wiring';
import { createReconcileHandler } from './app';

// Created once per container; the schedule invokes it (see template.yaml, ReconcileFunction).
export const handler = createReconcileHandler(lambdaDependencies('reconciler'));
