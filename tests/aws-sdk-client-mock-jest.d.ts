// Types for the aws-sdk-client-mock jest matchers that jest.config.js registers.
import 'aws-sdk-client-mock-jest';
