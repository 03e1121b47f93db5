"""Infrastructure library shared by every service of the city platform; holds no business nouns."""
