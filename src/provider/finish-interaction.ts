import type { Context } from 'koa';
import type { Interaction, InteractionResults } from 'oidc-provider';

/**
 * Records the result on the interaction this request already read and sends the browser back to the
 * provider: what oidc-provider's interactionResult does (without merging earlier submissions),
 * minus a second read of the interaction.
 */
export async function finishInteraction(ctx: Context, details: Interaction, result: InteractionResults): Promise<void> {
  details.result = result;
  await details.save(details.exp - Math.floor(Date.now() / 1000));
  ctx.status = 303;
  ctx.redirect(details.returnTo);
}
