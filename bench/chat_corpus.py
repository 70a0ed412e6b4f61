"""Generated chat lines for the real-embedding recall bench (bench/memory_real.py).

No package in the environment ships a chat corpus (the PyPI ones found carry a few thousand
lines at most), so lines are generated: about 120 templates of the things people write in a
chat (plans, food, work, feelings, questions, replies, media, weather, small news), with slots
filled from word lists, an optional opener ("hey", "lol", "honestly") and closer ("haha", "?",
"!"), and a share of lower-case, no-apostrophe typing. The same seed gives the same lines in
every run; lines repeat rarely (the bench drops repeats).

They read like chat but are not chat: the vocabulary is smaller than real conversation's and
many lines share a template, so neighbours are denser than in a real history. That makes
nearest-neighbour search harder, not easier (more near-ties at the top ten).
"""

from __future__ import annotations

import random

NAMES = (
    "Sam Ada Mia Leo Noah Emma Liam Olivia Ava Ethan Zoe Lucas Chloe Mason Lily Jack Grace "
    "Henry Ella Owen Nora Ben Ruby Max Isla Dan Alice Tom Sara Kai Maya Finn Iris Omar Lena "
    "Raj Priya Yuki Hana Diego Sofia"
).split()
FOODS = [
    "pizza", "sushi", "ramen", "tacos", "pasta", "a burrito", "pho", "curry", "dumplings",
    "pancakes", "a bagel", "salad", "fried chicken", "burgers", "falafel", "pad thai",
    "ice cream", "cheesecake", "banana bread", "toast", "leftovers", "noodles", "soup",
    "a sandwich", "avocado toast", "waffles", "chili", "lasagna", "dim sum", "kebab",
    "croissants", "cereal", "popcorn", "a smoothie", "bubble tea", "cold brew", "hot chocolate",
    "green tea", "oat milk latte", "nachos",
]  # fmt: skip
PLACES = [
    "the gym", "the office", "the beach", "the park", "the library", "the mall", "work",
    "school", "the airport", "my parents' place", "the dentist", "the doctor", "the lake",
    "the mountains", "the city", "the farmers market", "the coffee shop", "the cinema",
    "the concert", "the bar", "the pool", "the museum", "the zoo", "grandma's", "the station",
    "the supermarket", "the bakery", "the hospital", "campus", "the hotel", "the cabin",
    "the game", "the party", "the wedding", "the festival", "the hardware store", "IKEA",
    "the vet", "the bookstore", "the climbing gym",
]  # fmt: skip
ACTIVITIES = [
    "hiking", "running", "cooking", "baking", "painting", "reading", "gaming", "swimming",
    "cycling", "climbing", "studying", "cleaning the flat", "doing laundry", "learning Spanish",
    "learning guitar", "playing piano", "doing yoga", "knitting", "gardening", "camping",
    "skating", "surfing", "writing", "journaling", "working out", "meal prepping",
    "binge watching", "sleeping in", "walking the dog", "fixing my bike", "packing",
    "moving boxes", "job hunting", "coding", "drawing", "photography", "fishing", "dancing",
    "volunteering", "shopping for shoes", "doing my taxes", "planning the trip",
    "babysitting", "playing chess", "playing football", "playing tennis", "birdwatching",
    "decluttering", "painting the bedroom", "assembling the wardrobe",
]  # fmt: skip
THINGS = [
    "phone", "laptop", "car", "bike", "cat", "dog", "plant", "headphones", "camera",
    "apartment", "landlord", "boss", "roommate", "sister", "brother", "mom", "dad",
    "neighbour", "coworker", "teacher", "printer", "wifi", "fridge", "washing machine",
    "keyboard", "charger", "wallet", "keys", "passport", "umbrella", "jacket", "sneakers",
    "backpack", "watch", "glasses", "tablet", "router", "shower", "heater", "coffee machine",
    "couch", "desk", "mattress", "car insurance", "phone bill", "gym membership",
    "new haircut", "tattoo", "sourdough starter", "fish tank",
]  # fmt: skip
TIMES = [
    "today", "yesterday", "tonight", "tomorrow", "this morning", "last night",
    "this weekend", "last weekend", "on Monday", "on Friday", "on Sunday", "next week",
    "last week", "later", "right now", "after work", "before lunch", "at 7", "around noon",
    "in an hour", "all day", "this afternoon", "next month", "over the holidays", "at midnight",
]  # fmt: skip
FEELINGS = [
    "tired", "excited", "stressed", "bored", "happy", "nervous", "exhausted", "hungry",
    "sick", "sore", "relieved", "annoyed", "confused", "proud", "sad", "anxious", "grateful",
    "lonely", "motivated", "lazy", "overwhelmed", "homesick", "sleepy", "cold", "hot",
    "hyped", "chill", "burnt out", "fine", "great",
]  # fmt: skip
MEDIA = [
    "that new sci-fi show", "the last episode", "the finale", "the new Zelda",
    "that podcast", "the documentary", "the new album", "that horror movie", "the anime",
    "the book you lent me", "the cooking show", "the baking contest", "the true crime series",
    "the match", "the concert stream", "that YouTube video", "the new trailer",
    "the comedy special", "the reality show", "the Marvel movie", "the fantasy novel",
    "the indie game", "the playlist you sent", "the audiobook", "the musical",
    "the space documentary", "the detective series", "the rom com", "the old Bond films",
    "the chess tournament", "the Oscars", "the election debate", "the news", "the meme",
    "the TikTok you sent", "the song from the ad", "the sequel", "the remake",
    "the new season", "the spin-off",
]  # fmt: skip
TASKS = [
    "the deadline", "my exam", "the interview", "the presentation", "the report",
    "the project", "my thesis", "the meeting", "the budget", "the move", "the launch",
    "the review", "the assignment", "the group project", "my driving test", "the audit",
    "the quarterly numbers", "the client call", "the job offer", "my visa application",
    "the lease", "the renovation", "the wedding planning", "the tax return", "the essay",
    "the code review", "the release", "the performance review", "the training", "my shift",
]  # fmt: skip
WEATHER = [
    "raining", "snowing", "so hot", "freezing", "windy", "sunny", "foggy", "humid",
    "pouring", "stormy", "nice out", "grey again",
]  # fmt: skip
OPENERS = [
    "", "", "", "", "", "hey ", "hey, ", "lol ", "omg ", "honestly ", "ok so ", "btw ",
    "wait, ", "ugh, ", "yeah ", "haha ", "hmm ", "so ", "fyi ", "also ",
]  # fmt: skip
CLOSERS = ["", "", "", "", ".", ".", "!", "!!", " haha", " lol", " :)", " 😅", "...", " tbh"]

TEMPLATES = [
    # plans
    "want to get {food} {time}?", "are you coming to {place} {time}?",
    "I'm going to {place} {time}, wanna come", "let's meet at {place} {time}",
    "can't make it {time}, something came up with my {thing}",
    "{name} and I are going {activity} {time}", "still on for {activity} {time}?",
    "running late, be at {place} in 10", "I'll pick you up {time}",
    "should we invite {name} to {place}?", "what time do you finish {time}?",
    "I'm free {time} if you want to do something", "maybe {place} instead of {place2}?",
    "we could try {activity} {time}", "remind me to call {name} {time}",
    # food
    "I had {food} for lunch and now I'm {feeling}", "craving {food} so bad",
    "{name} made {food} {time}, it was amazing", "never eating {food} again",
    "is {food} ok for dinner {time}?", "the {food} at {place} is overrated",
    "I tried making {food} {time} and it went badly", "can you grab {food} on your way?",
    "I think I ate too much {food}", "there's leftover {food} in the fridge",
    # work and study
    "{task} is {time} and I haven't started", "my {thing} keeps crashing during {task}",
    "finally done with {task}!", "how did {task} go?", "I'm so {feeling} about {task}",
    "{name} is helping me with {task}", "they moved {task} to {time}",
    "can you look at {task} before {time}?", "I need a break from {task}",
    "got good news about {task}", "{task} went way better than I expected",
    "stayed up until 3 because of {task}", "my boss wants {task} done {time}",
    # feelings
    "I'm so {feeling} {time}", "feeling {feeling} after {activity}",
    "not gonna lie, I'm a bit {feeling}", "why am I always {feeling} on Mondays",
    "{activity} always makes me feel {feeling}", "are you ok? you seemed {feeling} {time}",
    "I've been {feeling} all week", "been {feeling} since I talked to {name}",
    "sorry I was {feeling} {time}", "honestly just {feeling} and want to sleep",
    # things
    "my {thing} broke again", "I finally fixed the {thing}",
    "do you know a good place to fix a {thing}?",
    "my {thing} is driving me crazy", "I think I lost my {thing} at {place}",
    "found my {thing}! it was in the car", "should I get a new {thing}?",
    "{name} borrowed my {thing} and never gave it back", "the {thing} is making a weird noise",
    "how much did you pay for your {thing}?", "my {thing} died right when I needed it",
    "can I borrow your {thing} {time}?", "the new {thing} was worth it",
    # activities
    "started {activity} {time}", "I love {activity} but I never have time",
    "went {activity} with {name} {time}", "thinking about {activity} more this year",
    "is {activity} hard to get into?", "{activity} was harder than I thought",
    "I'm getting better at {activity}", "gave up on {activity} lol",
    "spent the whole day {activity}", "you should try {activity}, you'd like it",
    # media
    "did you watch {media}?", "{media} was so good", "no spoilers, I haven't seen {media}",
    "I fell asleep during {media}", "{name} keeps talking about {media}",
    "ok {media} made me cry", "what did you think of {media}?", "{media} was overhyped",
    "I'm rewatching {media} {time}", "the ending of {media} made no sense",
    "have you heard {media}?", "we should watch {media} together {time}",
    # weather
    "it's {weather} here {time}", "of course it's {weather} on the one day I go to {place}",
    "is it {weather} where you are?", "cancelled {activity} because it's {weather}",
    "I love it when it's {weather}", "bring a jacket, it's {weather}",
    # people and news
    "{name} just texted me", "did {name} tell you the news?", "{name} got a new {thing}",
    "{name} is moving to another city {time}", "{name} and {name2} broke up",
    "{name} got the job!", "haven't heard from {name} in ages", "say hi to {name} from me",
    "{name} says hi", "happy birthday to {name}!", "{name} is coming to {place} with us",
    "{name} said {place} is closed {time}", "is {name} still mad at me?",
    # questions and replies
    "what are you up to {time}?", "how was {place}?", "how's your {thing}?",
    "did you end up going to {place}?", "what do you want for dinner?",
    "any plans {time}?", "how's {name} doing?", "where did you get {food}?",
    "yes! {place} {time} works", "sounds good, see you at {place}", "no worries at all",
    "sure, {time} is fine", "I'll let you know {time}", "ok that's hilarious",
    "thanks for {activity} with me {time}", "sorry, I just saw this",
    "omw, be there {time}", "same, I'm {feeling} too", "I can't believe {name} did that",
]  # fmt: skip

_SLOTS = {
    "name": NAMES,
    "name2": NAMES,
    "food": FOODS,
    "place": PLACES,
    "place2": PLACES,
    "activity": ACTIVITIES,
    "thing": THINGS,
    "time": TIMES,
    "feeling": FEELINGS,
    "media": MEDIA,
    "task": TASKS,
    "weather": WEATHER,
}


def _line(rng: random.Random) -> str:
    template = rng.choice(TEMPLATES)
    filled = template.format(**{key: rng.choice(words) for key, words in _SLOTS.items()})
    opener, closer = rng.choice(OPENERS), rng.choice(CLOSERS)
    if closer and filled[-1] in "?!":
        closer = closer.strip(".!") and closer  # "?" lines keep their mark; "!"/"." dropped
    text = f"{opener}{filled}{closer}".strip()
    if rng.random() < 0.4:  # chat typing: lower case, no apostrophes
        text = text.lower().replace("'", "")
    elif text[0].islower():
        text = text[0].upper() + text[1:]
    return text


def chat_lines(n: int, seed: int) -> list[str]:
    """``n`` distinct chat lines, the same for the same ``(n, seed)``."""
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        text = _line(rng)
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out
