// js_on_load of the chat view (ui/tabs/chat.py): clicks inside our HTML become the custom events rate, option and
// chip; listening on the container survives re-renders. Each new answer scrolls the conversation to its end.
element.addEventListener('click', (event) => {
  const button = event.target.closest('button');
  if (!button || !element.contains(button)) return;
  if (button.dataset.rating) { trigger('rate', {rating: button.dataset.rating, index: Number(button.dataset.index)}); return; }
  if (button.dataset.option) { trigger('option', {option: button.dataset.option}); return; }
  if (button.dataset.section) { trigger('chip', {section: button.dataset.section, doc: button.dataset.doc || ''}); }
});
watch('value', () => {
  const chat = element.querySelector('.pa-chat');
  if (chat) chat.scrollTop = chat.scrollHeight;
});
